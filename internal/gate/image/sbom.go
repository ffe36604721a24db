package image

import (
	"fmt"
	"sort"

	"github.com/shipgate/shipgate/internal/image/inventory"
	lockinv "github.com/shipgate/shipgate/internal/inventory"
)

// SBOMInventory turns an image inventory into the inventory the SBOM
// writer (internal/gate/sbom) takes: one "lockfile" per database file and
// layer ("/var/lib/dpkg/status (layer 0)"), so the bill says where each
// component was found. Packages keep their purls (pkg:deb, pkg:apk,
// pkg:golang...).
func SBOMInventory(res *inventory.Result) *lockinv.Inventory {
	inv := &lockinv.Inventory{Root: "/"}
	byFile := map[string]*lockinv.Lockfile{}
	var files []string
	for _, p := range res.Packages {
		key := fmt.Sprintf("%s (layer %d)", p.Location, p.Layer)
		lf, ok := byFile[key]
		if !ok {
			lf = &lockinv.Lockfile{Path: key, Kind: lockinv.Kind(p.Type)}
			byFile[key] = lf
			files = append(files, key)
		}
		lf.Packages = append(lf.Packages, lockinv.Package{
			Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version, PURL: p.PURL,
			Source: "registry", File: key, Line: p.Line,
		})
	}
	sort.Strings(files)
	for _, f := range files {
		inv.Lockfiles = append(inv.Lockfiles, *byFile[f])
	}
	return inv
}

// QueryPackages are the packages as the OSV API is asked about them
// (deps.Online): OS packages by source name and version in their release's
// ecosystem ("Debian:12" zlib 1:1.2.13.dfsg-1), the others as they are.
// Duplicates are dropped.
func QueryPackages(res *inventory.Result) []lockinv.Package {
	seen := map[string]bool{}
	var out []lockinv.Package
	for _, p := range res.Packages {
		q := lockinv.Package{Ecosystem: p.Ecosystem, Name: p.MatchName(), Version: p.MatchVersion()}
		if q.Ecosystem == "" || q.Version == "" || seen[q.ID()] {
			continue
		}
		seen[q.ID()] = true
		out = append(out, q)
	}
	return out
}
