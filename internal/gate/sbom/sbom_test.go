package sbom

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/gate/license"
	"github.com/shipgate/shipgate/internal/inventory"
	"github.com/xeipuuv/gojsonschema"
)

const (
	licenseProject = "../license/testdata/project"
	realWorld      = "../../inventory/testdata/real-world"
)

func model(t *testing.T, root string, withLicenses bool) *Model {
	t.Helper()
	inv, err := inventory.Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Name: filepath.Base(root), Version: "1.0.0", ToolVersion: "test", Time: time.Unix(1700000000, 0)}
	if withLicenses {
		o.Licenses = license.Collect(inv, license.CollectOptions{Root: root, GoModCache: "../license/testdata/gomodcache"})
	}
	return Build(inv, o)
}

func render(t *testing.T, m *Model, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, m, format); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func validateJSON(t *testing.T, schema string, doc []byte) {
	t.Helper()
	for i, e := range schemaErrors(t, schema, doc) {
		if i < 10 {
			t.Errorf("%s: %s", schema, e)
		}
	}
}

func schemaErrors(t *testing.T, schema string, doc []byte) []string {
	t.Helper()
	load := func(name string) gojsonschema.JSONLoader {
		b, err := os.ReadFile(filepath.Join("testdata", "schema", name))
		if err != nil {
			t.Fatal(err)
		}
		return gojsonschema.NewBytesLoader(b)
	}
	// The CycloneDX schema refers to its SPDX-ID and JSF schemas by URL:
	// serve them from testdata so nothing is fetched.
	sl := gojsonschema.NewSchemaLoader()
	if strings.HasPrefix(schema, "bom-") {
		for _, dep := range []string{"spdx.schema.json", "jsf-0.82.schemax.json"} {
			if err := sl.AddSchema("http://cyclonedx.org/schema/"+dep, load(dep)); err != nil {
				t.Fatal(err)
			}
		}
	}
	compiled, err := sl.Compile(load(schema))
	if err != nil {
		t.Fatalf("%s: %v", schema, err)
	}
	res, err := compiled.Validate(gojsonschema.NewBytesLoader(doc))
	if err != nil {
		t.Fatalf("%s: %v", schema, err)
	}
	var out []string
	for _, e := range res.Errors() {
		out = append(out, e.String())
	}
	return out
}

// The validation can fail: a wrong component type, a license ID outside
// the SPDX list and a missing SPDX field are caught.
func TestSchemaCatchesErrors(t *testing.T) {
	m := model(t, licenseProject, true)
	cdxDoc := render(t, m, "cyclonedx-json")
	for _, bad := range [][2]string{{`"type": "library"`, `"type": "librar"`}, {`"id": "MIT"`, `"id": "MIT-ish"`}} {
		if errs := schemaErrors(t, "bom-1.6.schema.json", bytes.Replace(cdxDoc, []byte(bad[0]), []byte(bad[1]), 1)); len(errs) == 0 {
			t.Errorf("CycloneDX schema accepted %s", bad[1])
		}
	}
	spdxDoc := render(t, m, "spdx-json")
	if errs := schemaErrors(t, "spdx-schema-2.3.json", bytes.Replace(spdxDoc, []byte(`"downloadLocation"`), []byte(`"downloadLocatio"`), 1)); len(errs) == 0 {
		t.Error("SPDX schema accepted a package without downloadLocation")
	}
}

// The official CycloneDX 1.6 and SPDX 2.3 JSON schemas (copies in
// testdata/schema) accept what we write, for a project with licenses and
// hashes and for every real-world lockfile; the XML passes bom-1.6.xsd.
func TestSchemaValid(t *testing.T) {
	for _, c := range []struct {
		root string
		lic  bool
	}{{licenseProject, true}, {realWorld, false}} {
		m := model(t, c.root, c.lic)
		if len(m.Components) == 0 {
			t.Fatalf("%s: no components", c.root)
		}
		validateJSON(t, "bom-1.6.schema.json", render(t, m, "cyclonedx-json"))
		validateJSON(t, "spdx-schema-2.3.json", render(t, m, "spdx-json"))
		xml := filepath.Join(t.TempDir(), "bom.xml")
		os.WriteFile(xml, render(t, m, "cyclonedx-xml"), 0o644)
		out, err := exec.Command("xmllint", "--noout", "--schema", "testdata/schema/bom-1.6.xsd", xml).CombinedOutput()
		if err != nil {
			t.Errorf("xmllint (Debian package libxml2-utils): %v\n%s", err, out)
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, f := range Formats {
		a := render(t, model(t, realWorld, false), f)
		b := render(t, model(t, realWorld, false), f)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two runs differ", f)
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if tm, err := SourceDateEpoch(); err != nil || !tm.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("SOURCE_DATE_EPOCH: %v %v", tm, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := SourceDateEpoch(); err == nil {
		t.Error("bad SOURCE_DATE_EPOCH accepted")
	}
}

func TestContent(t *testing.T) {
	m := model(t, licenseProject, true)
	var bom struct {
		Components []struct {
			Ref      string `json:"bom-ref"`
			Name     string `json:"name"`
			PURL     string `json:"purl"`
			Hashes   []struct{ Alg, Content string }
			Licenses []struct {
				License struct{ ID, Name string }
			} `json:"licenses"`
		} `json:"components"`
		Dependencies []struct {
			Ref       string   `json:"ref"`
			DependsOn []string `json:"dependsOn"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(render(t, m, "cyclonedx-json"), &bom); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range bom.Components {
		if c.Name == "certifi" {
			found = true
			if c.PURL != "pkg:hex/certifi@2.9.0" || len(c.Hashes) != 1 || c.Hashes[0].Content != "6f2a475689dd47f19fb74334859d460a2dc4e3252a3324bd2111b8f0429e7e21" ||
				len(c.Licenses) != 1 || c.Licenses[0].License.ID != "BSD-3-Clause" {
				t.Errorf("certifi: %+v", c)
			}
		}
	}
	if !found {
		t.Error("certifi missing")
	}
	// mix.lock edges become dependencies.
	d := t.TempDir()
	b, _ := os.ReadFile("../../inventory/testdata/osv-scalibr/erlang/mixlock/two-packages.lock")
	os.WriteFile(filepath.Join(d, "mix.lock"), b, 0o644)
	out := string(render(t, model(t, d, false), "spdx-json"))
	if !strings.Contains(out, `"spdxElementId": "SPDXRef-Package-hex-plug-1.11.1"`) ||
		!strings.Contains(out, `"relatedSpdxElement": "SPDXRef-Package-hex-plug-crypto-1.2.2"`) {
		t.Errorf("spdx relationships missing:\n%s", out)
	}
}
