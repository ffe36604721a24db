package image_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/gate"
	imagegate "github.com/shipgate/shipgate/internal/gate/image"
	"github.com/shipgate/shipgate/internal/image"
	"github.com/shipgate/shipgate/internal/image/imagetest"
	"github.com/shipgate/shipgate/internal/image/inventory"
	"github.com/shipgate/shipgate/internal/osv"
	"github.com/xeipuuv/gojsonschema"
)

var epoch = time.Unix(1700000000, 0).UTC()

// debianImage builds the real bookworm rootfs (status.d layout) as an
// image, optionally with an upper layer whiting out zlib1g.
func debianImage(t *testing.T, withoutZlib bool) *inventory.Result {
	t.Helper()
	o := image.BuildOptions{Base: imagetest.DebianRootfs(t, true), Time: epoch}
	if withoutZlib {
		upper := t.TempDir()
		p := filepath.Join(upper, "var/lib/dpkg/status.d/.wh.zlib1g")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
		o.Layers = []image.LayerSpec{{Src: upper}}
	}
	img, err := image.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := inventory.Scan(img)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func db(t *testing.T) *osv.DB {
	t.Helper()
	d, err := osv.Load("testdata/osv-debian")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ids(r *gate.Report) []string {
	var out []string
	for _, f := range r.Data.(*imagegate.Result).Findings {
		out = append(out, f.Package.Name+" "+f.Vuln.ID+" "+f.Severity+" fixed="+f.Vuln.Fixed)
	}
	sort.Strings(out)
	return out
}

// TestScanDebianAdvisories: the real advisories of testdata/osv-debian
// against the real packages: exactly two apply.
//
//   - DEBIAN-CVE-2023-45853 (zlib, CVSS 9.8): no fix in bookworm; its trixie
//     fix (1:1.3.dfsg-2) must not be offered to a bookworm image.
//   - DSA-6015-1 (openssl): fixed in 3.0.17-1~deb12u3; the image has
//     3.0.17-1~deb12u2 (the "~" sorts before the end, as dpkg orders it).
//
// and four do not: DSA-5532-1 (openssl, fixed 3.0.11-1~deb12u2, older than
// the image's), DSA-5770-1 (expat, fixed 2.5.0-1+deb12u1 < 2.5.0-1+deb12u5:
// SemVer would drop the "+deb12u" revision and call them equal), DSA-5218-1
// (zlib, Debian:11 only) and DSA-5514-1 (glibc, not in the image).
func TestScanDebianAdvisories(t *testing.T) {
	inv := debianImage(t, false)
	r, err := imagegate.Scan(imagegate.Options{Image: "debian", Inventory: inv, DB: db(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"libssl3 DSA-6015-1 HIGH fixed=3.0.17-1~deb12u3",
		"zlib1g DEBIAN-CVE-2023-45853 CRITICAL fixed=",
	}
	if got := ids(r); !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n got %q\nwant %q", got, want)
	}
	if r.Verdict != gate.Fail {
		t.Errorf("verdict %s, want fail (default: any finding fails)", r.Verdict)
	}
}

// TestFailOnCritical: --fail-on CRITICAL fails only while a CRITICAL
// finding is present; the image without zlib (whited out) passes it with
// a warning and fails --fail-on HIGH.
func TestFailOnCritical(t *testing.T) {
	full, noZlib := debianImage(t, false), debianImage(t, true)
	for _, c := range []struct {
		name   string
		inv    *inventory.Result
		failOn string
		want   gate.Verdict
	}{
		{"with zlib", full, "CRITICAL", gate.Fail},
		{"without zlib", noZlib, "CRITICAL", gate.Warn},
		{"without zlib", noZlib, "HIGH", gate.Fail},
	} {
		r, err := imagegate.Scan(imagegate.Options{Inventory: c.inv, DB: db(t), FailOn: c.failOn})
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != c.want || r.ExitCode() != map[gate.Verdict]int{gate.Fail: 1, gate.Warn: 0}[c.want] {
			t.Errorf("%s --fail-on %s: %s (%s), want %s", c.name, c.failOn, r.Verdict, r.Reason, c.want)
		}
	}
	r, _ := imagegate.Scan(imagegate.Options{Inventory: noZlib, DB: db(t)})
	if got := ids(r); len(got) != 1 || !strings.HasPrefix(got[0], "libssl3 DSA-6015-1") {
		t.Errorf("without zlib: %q", got)
	}
}

func TestIgnoreAndSeverityFilter(t *testing.T) {
	inv := debianImage(t, false)
	dir := t.TempDir()
	yml := filepath.Join(dir, "ignore.yml")
	os.WriteFile(yml, []byte("ignore:\n  - id: CVE-2023-45853\n    package: zlib\n    reason: minizip is not built into zlib1g\n    expires: 2027-01-31\n  - id: DSA-0000-1\n    reason: stale\n    expires: 2027-01-31\n"), 0o644)
	ig, err := imagegate.LoadIgnore(yml)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	r, err := imagegate.Scan(imagegate.Options{Inventory: inv, DB: db(t), FailOn: "CRITICAL", Ignore: ig, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != gate.Warn {
		t.Errorf("critical ignored by alias and source package: %s (%s)", r.Verdict, r.Reason)
	}
	rules := map[string]int{}
	for _, f := range r.Findings {
		rules[f.Rule]++
	}
	if rules[imagegate.RuleIgnoreUnused] != 1 {
		t.Errorf("unused ignore entry not reported: %v", rules)
	}
	// After the expiry date the entry no longer applies.
	r, _ = imagegate.Scan(imagegate.Options{Inventory: inv, DB: db(t), FailOn: "CRITICAL", Ignore: ig, Now: now.AddDate(1, 0, 0)})
	if r.Verdict != gate.Fail {
		t.Errorf("expired ignore still applies: %s", r.Verdict)
	}
	// .trivyignore form.
	ti := filepath.Join(dir, ".trivyignore")
	os.WriteFile(ti, []byte("# accepted\nDSA-6015-1 # CMS PWRI is not used\n"), 0o644)
	ig2, err := imagegate.LoadIgnore(ti)
	if err != nil {
		t.Fatal(err)
	}
	r, _ = imagegate.Scan(imagegate.Options{Inventory: inv, DB: db(t), FailOn: "HIGH", Severities: []string{"HIGH"}, Ignore: ig2, Now: now})
	if r.Verdict != gate.Pass && r.Verdict != gate.Warn || len(ids(r)) != 1 {
		t.Errorf("severity filter + trivyignore: %s %q", r.Verdict, ids(r))
	}
	// --ignore-unfixed drops zlib's (no fix in bookworm).
	r, _ = imagegate.Scan(imagegate.Options{Inventory: inv, DB: db(t), IgnoreUnfixed: true})
	if got := ids(r); len(got) != 1 || !strings.HasPrefix(got[0], "libssl3 DSA-6015-1") {
		t.Errorf("ignore-unfixed: %q", got)
	}
	if _, err := imagegate.Scan(imagegate.Options{Inventory: inv, DB: db(t), FailOn: "SEVERE"}); err == nil {
		t.Error("--fail-on SEVERE accepted")
	}
	if _, err := imagegate.ParseIgnore("x.yml", []byte("ignore:\n  - id: A\n    reason: r\n    expires: soon\n")); err == nil {
		t.Error("bad expiry accepted")
	}
}

// TestSARIF validates the report against the SARIF 2.1.0 schema
// (testdata/sarif-2.1.0-rtm.5.json, the final 2.1.0 schema as shipped in
// @microsoft/jest-sarif 1.0.0-beta.0, MIT).
func TestSARIF(t *testing.T) {
	r, err := imagegate.Scan(imagegate.Options{Image: "debian", Inventory: debianImage(t, false), DB: db(t), FailOn: "CRITICAL"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := gate.WriteSARIF(&buf, "test", r); err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile("testdata/sarif-2.1.0-rtm.5.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors() {
		t.Errorf("SARIF: %s", e)
	}
	var doc struct {
		Runs []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	json.Unmarshal(buf.Bytes(), &doc)
	if len(doc.Runs) != 1 || len(doc.Runs[0].Results) != 2 {
		t.Fatalf("SARIF results: %+v", doc)
	}
	levels := map[string]bool{}
	for _, x := range doc.Runs[0].Results {
		levels[x.Level] = true
	}
	if !levels["error"] || !levels["warning"] {
		t.Errorf("levels: %v (CRITICAL is an error at --fail-on CRITICAL, HIGH a warning)", levels)
	}
}

// TestVersionOrdering: dpkg and apk ordering through internal/osv (not
// SemVer): the cases the advisories above depend on.
func TestVersionOrdering(t *testing.T) {
	for _, c := range []struct {
		eco, a, b string
		want      int
	}{
		{"Debian", "3.0.17-1~deb12u2", "3.0.17-1~deb12u3", -1},
		{"Debian", "3.0.17-1~deb12u2", "3.0.17-1", -1},
		{"Debian", "2.5.0-1+deb12u5", "2.5.0-1+deb12u1", 1},
		{"Debian", "1:1.2.13.dfsg-1", "1.3", 1}, // the epoch wins
		{"Debian", "12.4+deb12u15", "12.4+deb12u9", 1},
		{"Ubuntu", "2.35-0ubuntu3.1", "2.35-0ubuntu3", 1},
		{"Alpine", "3.1.4-r5", "3.1.4-r10", -1},
		{"Alpine", "1.36.1-r2", "1.36.1_rc1-r0", 1},
		{"Alpine", "2.40.1-r0", "2.40.1_p1-r0", -1},
	} {
		got, ok := osv.Compare(c.eco, c.a, c.b)
		if !ok || got != c.want {
			t.Errorf("%s: %s vs %s = %d (ok %v), want %d", c.eco, c.a, c.b, got, ok, c.want)
		}
	}
}

func TestSkippedAndInconclusive(t *testing.T) {
	r, _ := imagegate.Scan(imagegate.Options{Inventory: &inventory.Result{}})
	if r.Verdict != gate.Skipped {
		t.Errorf("empty image: %s", r.Verdict)
	}
	r, _ = imagegate.Scan(imagegate.Options{Inventory: debianImage(t, false)})
	if r.Verdict != gate.Inconclusive {
		t.Errorf("no db: %s", r.Verdict)
	}
}
