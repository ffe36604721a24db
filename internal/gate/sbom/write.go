package sbom

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// Formats lists the output formats.
var Formats = []string{"cyclonedx-json", "cyclonedx-xml", "spdx-json"}

// Write renders the model in one of Formats.
func Write(w io.Writer, m *Model, format string) error {
	switch format {
	case "cyclonedx-json":
		return WriteCycloneDX(w, m, cdx.BOMFileFormatJSON)
	case "cyclonedx-xml":
		return WriteCycloneDX(w, m, cdx.BOMFileFormatXML)
	case "spdx-json":
		return WriteSPDX(w, m)
	}
	return fmt.Errorf("unknown SBOM format %q (want %s)", format, strings.Join(Formats, ", "))
}

var cdxHash = map[string]cdx.HashAlgorithm{
	"SHA-1": cdx.HashAlgoSHA1, "SHA-256": cdx.HashAlgoSHA256, "SHA-384": cdx.HashAlgoSHA384, "SHA-512": cdx.HashAlgoSHA512,
}

// CycloneDX builds the CycloneDX 1.6 BOM of the model.
func CycloneDX(m *Model) *cdx.BOM {
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	bom.JSONSchema = "http://cyclonedx.org/schema/bom-1.6.schema.json"
	bom.SerialNumber = "urn:uuid:" + uuidFrom(m.digest())
	bom.Version = 1
	rootRef := "shipgate:project:" + m.Name
	tool := cdx.Component{Type: cdx.ComponentTypeApplication, Name: "shipgate", Version: strings.TrimPrefix(m.Tool, "shipgate-")}
	if tool.Version == "shipgate" {
		tool.Version = ""
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: m.Time.Format(time.RFC3339),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{tool}},
		Component: &cdx.Component{BOMRef: rootRef, Type: cdx.ComponentTypeApplication, Name: m.Name, Version: m.Version},
	}
	comps := []cdx.Component{}
	deps := []cdx.Dependency{{Ref: rootRef, Dependencies: strs(m.RootDeps)}}
	for _, c := range m.Components {
		cc := cdx.Component{BOMRef: c.Ref, Type: cdx.ComponentTypeLibrary, Name: c.Name, Version: c.Version, PackageURL: c.PURL}
		if c.Version == "" && c.RefID != "" {
			cc.Version = c.RefID
		}
		var hs []cdx.Hash
		for _, h := range c.Hashes {
			if a, ok := cdxHash[h.Alg]; ok {
				hs = append(hs, cdx.Hash{Algorithm: a, Value: h.Value})
			}
		}
		if len(hs) > 0 {
			cc.Hashes = &hs
		}
		if c.License != "" {
			var lc cdx.LicenseChoice
			if expr, ok := validExpression(c.License); ok && strings.ContainsAny(expr, " ") {
				lc.Expression = expr
			} else if ok {
				lc.License = &cdx.License{ID: expr}
			} else {
				lc.License = &cdx.License{Name: c.License}
			}
			cc.Licenses = &cdx.Licenses{lc}
		}
		if c.Repo != "" {
			cc.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeVCS, URL: c.Repo}}
		}
		props := []cdx.Property{{Name: "shipgate:lockfile", Value: c.Lockfile}}
		if c.Dev {
			props = append(props, cdx.Property{Name: "shipgate:dev", Value: "true"})
		}
		cc.Properties = &props
		comps = append(comps, cc)
		deps = append(deps, cdx.Dependency{Ref: c.Ref, Dependencies: strs(c.DependsOn)})
	}
	bom.Components = &comps
	bom.Dependencies = &deps
	return bom
}

func strs(s []string) *[]string {
	out := append([]string{}, s...)
	return &out
}

// WriteCycloneDX writes the model as CycloneDX 1.6 JSON or XML.
func WriteCycloneDX(w io.Writer, m *Model, f cdx.BOMFileFormat) error {
	return cdx.NewBOMEncoder(w, f).SetPretty(true).EncodeVersion(CycloneDX(m), cdx.SpecVersion1_6)
}

var spdxIDChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// SPDX builds the SPDX 2.3 document of the model.
func SPDX(m *Model) *spdx.Document {
	d := m.digest()
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      m.Name,
		DocumentNamespace: "https://shipgate.dev/spdx/" + spdxIDChars.ReplaceAllString(m.Name, "-") + "-" + uuidFrom(d),
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: m.Tool}},
			Created:  m.Time.Format(time.RFC3339),
		},
	}
	ids := map[string]common.ElementID{}
	used := map[common.ElementID]bool{"DOCUMENT": true}
	idFor := func(ref string) common.ElementID {
		if id, ok := ids[ref]; ok {
			return id
		}
		base := "Package-" + strings.Trim(spdxIDChars.ReplaceAllString(strings.TrimPrefix(ref, "pkg:"), "-"), "-")
		id := common.ElementID(base)
		if used[id] {
			id = common.ElementID(base + "-" + shortHash(ref))
		}
		used[id] = true
		ids[ref] = id
		return id
	}
	rootID := common.ElementID("RootPackage")
	used[rootID] = true
	doc.Packages = append(doc.Packages, &spdx.Package{
		PackageName: m.Name, PackageSPDXIdentifier: rootID, PackageVersion: m.Version,
		PackageDownloadLocation: "NOASSERTION", PackageLicenseConcluded: "NOASSERTION", PackageLicenseDeclared: "NOASSERTION",
		PackageCopyrightText: "NOASSERTION", PrimaryPackagePurpose: "APPLICATION",
	})
	for _, c := range m.Components {
		p := &spdx.Package{
			PackageName: c.Name, PackageSPDXIdentifier: idFor(c.Ref), PackageVersion: c.Version,
			PackageDownloadLocation: "NOASSERTION", PackageLicenseConcluded: "NOASSERTION", PackageLicenseDeclared: "NOASSERTION",
			PackageCopyrightText: "NOASSERTION", PrimaryPackagePurpose: "LIBRARY",
		}
		if c.Version == "" && c.RefID != "" {
			p.PackageVersion = c.RefID
		}
		if c.Repo != "" {
			loc := "git+" + c.Repo
			if c.RefID != "" {
				loc += "@" + c.RefID
			}
			p.PackageDownloadLocation = loc
		}
		if expr, ok := validExpression(c.License); ok {
			p.PackageLicenseDeclared = expr
		}
		for _, h := range c.Hashes {
			switch h.Alg {
			case "SHA-1":
				p.PackageChecksums = append(p.PackageChecksums, common.Checksum{Algorithm: common.SHA1, Value: h.Value})
			case "SHA-256":
				p.PackageChecksums = append(p.PackageChecksums, common.Checksum{Algorithm: common.SHA256, Value: h.Value})
			case "SHA-384":
				p.PackageChecksums = append(p.PackageChecksums, common.Checksum{Algorithm: common.SHA384, Value: h.Value})
			case "SHA-512":
				p.PackageChecksums = append(p.PackageChecksums, common.Checksum{Algorithm: common.SHA512, Value: h.Value})
			}
		}
		if c.PURL != "" {
			p.PackageExternalReferences = []*spdx.PackageExternalReference{{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: c.PURL}}
		}
		doc.Packages = append(doc.Packages, p)
	}
	rel := func(a, b common.ElementID, kind string) *spdx.Relationship {
		return &spdx.Relationship{RefA: common.MakeDocElementID("", string(a)), RefB: common.MakeDocElementID("", string(b)), Relationship: kind}
	}
	doc.Relationships = append(doc.Relationships, rel("DOCUMENT", rootID, "DESCRIBES"))
	for _, r := range m.RootDeps {
		doc.Relationships = append(doc.Relationships, rel(rootID, idFor(r), "DEPENDS_ON"))
	}
	for _, c := range m.Components {
		for _, r := range c.DependsOn {
			doc.Relationships = append(doc.Relationships, rel(idFor(c.Ref), idFor(r), "DEPENDS_ON"))
		}
	}
	return doc
}

// WriteSPDX writes the model as SPDX 2.3 JSON.
func WriteSPDX(w io.Writer, m *Model) error {
	return spdxjson.Write(SPDX(m), w, spdxjson.Indent("  "))
}
