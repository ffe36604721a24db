package deps

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
	"github.com/shipgate/shipgate/internal/inventory"
	"github.com/shipgate/shipgate/internal/osv"
)

const (
	realWorld = "../../inventory/testdata/real-world"
	corpusDB  = "../../osv/testdata/corpus"
)

func audit(t *testing.T, root string, ign *IgnoreFile) (*gate.Report, *Result) {
	t.Helper()
	inv, err := inventory.Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	db, err := osv.Load(corpusDB)
	if err != nil {
		t.Fatal(err)
	}
	r := Audit(Options{Inventory: inv, DB: db, Ignore: ign, Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
	return r, r.Data.(*Result)
}

// The same vulnerability IDs per package as osv-scanner v2.5.0 offline,
// fed the same records, on the real-world lockfiles (its output is kept in
// testdata). osv-scanner reads every lockfile here except rebar.lock; its
// package counts per lockfile must equal ours for the rest.
// compareWithOSVScanner checks that our findings under root have, per
// lockfile and package, the same record IDs as osv-scanner's JSON output.
// It returns the number of vulnerable packages compared.
func compareWithOSVScanner(t *testing.T, golden, root string) int {
	t.Helper()
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Results []struct {
			Source struct {
				Path string `json:"path"`
			} `json:"source"`
			Packages []struct {
				Package struct {
					Name, Version, Ecosystem string
				} `json:"package"`
				Vulnerabilities []struct {
					ID string `json:"id"`
				} `json:"vulnerabilities"`
			} `json:"packages"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	theirs := map[string][]string{}
	for _, r := range out.Results {
		for _, p := range r.Packages {
			k := r.Source.Path + " " + p.Package.Ecosystem + "/" + p.Package.Name + "@" + p.Package.Version
			for _, v := range p.Vulnerabilities {
				theirs[k] = append(theirs[k], v.ID)
			}
		}
	}
	_, res := audit(t, root, nil)
	ours := map[string][]string{}
	for _, f := range res.Findings {
		k := f.Package.File + " " + f.Package.ID()
		ours[k] = append(ours[k], f.Vuln.IDs...)
	}
	var keys []string
	for k := range theirs {
		keys = append(keys, k)
	}
	for k := range ours {
		if _, ok := theirs[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	same, ids := 0, 0
	for _, k := range keys {
		a, b := slices.Sorted(slices.Values(theirs[k])), slices.Sorted(slices.Values(ours[k]))
		ids += len(b)
		if slices.Equal(a, b) {
			same++
		} else {
			t.Errorf("%s: osv-scanner %v, shipgate %v", k, a, b)
		}
	}
	t.Logf("%s: vulnerable packages: %d, identical ID sets: %d, IDs: %d", golden, len(keys), same, ids)
	return len(keys)
}

// The Hex advisories (mix_audit YAML converted to OSV for osv-scanner)
// match the same way in both tools: erlmcp's rebar.lock rewritten as a
// mix.lock, which osv-scanner reads.
func TestSameHexFindingsAsOSVScanner(t *testing.T) {
	if n := compareWithOSVScanner(t, "testdata/osv-scanner-v2.5.0/erlmcp-mix.json", "testdata/erlmcp-mix"); n != 4 {
		t.Errorf("%d vulnerable packages, want 4 (cowboy, cowlib, gun, jose)", n)
	}
}

func TestSameFindingsAsOSVScanner(t *testing.T) {
	n := compareWithOSVScanner(t, "testdata/osv-scanner-v2.5.0/real-world.json", realWorld)
	if n < 15 {
		t.Errorf("only %d vulnerable packages: the comparison lost its data", n)
	}
	// Package counts per lockfile.
	f, err := os.Open("testdata/osv-scanner-v2.5.0/stderr.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^real-world: Scanned (\S+) file and found (\d+) packages`)
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			counts[m[1]], _ = strconv.Atoi(m[2])
		}
	}
	inv, _ := inventory.Scan(realWorld)
	for _, lf := range inv.Lockfiles {
		n, ok := counts[lf.Path]
		switch {
		case lf.Kind == inventory.RebarLock:
			if ok {
				t.Errorf("%s: osv-scanner read a rebar.lock; update the explanation", lf.Path)
			}
		case !ok:
			t.Errorf("%s: not read by osv-scanner", lf.Path)
		case n != len(lf.Packages):
			t.Errorf("%s: osv-scanner %d packages, shipgate %d", lf.Path, n, len(lf.Packages))
		}
	}
}

// erlmcp's rebar.lock: osv-scanner finds no package source at all; we
// find the Hex advisories for cowboy, cowlib, gun and jose.
func TestRebarLockAudit(t *testing.T) {
	r, res := audit(t, "testdata/erlmcp", nil)
	if r.Verdict != gate.Fail {
		t.Fatalf("verdict %s: %s", r.Verdict, r.Reason)
	}
	got := map[string]bool{}
	for _, f := range res.Findings {
		got[f.Package.Name+"@"+f.Package.Version+" "+f.Vuln.ID] = true
		if f.Package.File != "rebar.lock" || f.Package.Line == 0 {
			t.Errorf("finding without position: %+v", f.Package)
		}
	}
	for _, want := range []string{"cowboy@2.10.0 GHSA-jfc2-q6qh-g5x8", "cowlib@2.12.1 GHSA-hv23-4qp7-8c8r", "gun@2.0.1 GHSA-w4f7-4cxr-rv3c", "jose@1.11.1 GHSA-9mg4-v392-8j68"} {
		if !got[want] {
			t.Errorf("missing %s in %v", want, got)
		}
	}
}

func TestIgnoreFile(t *testing.T) {
	ign, err := ParseIgnore("ign.yml", []byte(`ignore:
  - id: GHSA-w4f7-4cxr-rv3c
    package: gun
    reason: we only use gun for outgoing HTTP/1.1
    expires: 2026-12-31
  - id: GHSA-jfc2-q6qh-g5x8
    reason: expired already
    expires: 2026-01-31
  - id: GHSA-nope-nope-nope
    reason: stale entry
    expires: 2027-01-01
`))
	if err != nil {
		t.Fatal(err)
	}
	r, res := audit(t, "testdata/erlmcp", ign)
	ignored := 0
	for _, f := range res.Findings {
		if f.Ignored != nil {
			ignored++
			if f.Vuln.ID != "GHSA-w4f7-4cxr-rv3c" {
				t.Errorf("ignored %s", f.Vuln.ID)
			}
		}
	}
	if ignored != 1 || r.Verdict != gate.Fail {
		t.Errorf("ignored %d, verdict %s", ignored, r.Verdict)
	}
	rules := map[string]diag.Pos{}
	for _, f := range r.Findings {
		if f.Rule != RuleVulnerable {
			rules[f.Rule] = f.Pos
		}
	}
	if p := rules[RuleIgnoreExpired]; p.Line != 6 {
		t.Errorf("expired entry at %v, want line 6", p)
	}
	if p := rules[RuleIgnoreUnused]; p.Line != 9 {
		t.Errorf("unused entry at %v, want line 9", p)
	}

	for src, want := range map[string]string{
		"ignore:\n  - id: X\n    expires: 2026-01-01\n":               "ign.yml:2:",
		"ignore:\n  - id: X\n    reason: r\n":                         "needs an expiry date",
		"ignore:\n  - id: X\n    reason: r\n    expires: soon\n":      "ign.yml:4:",
		"ignore:\n  - id: X\n    reason: r\n    expire: 2026-01-01\n": "ign.yml:4:",
	} {
		if _, err := ParseIgnore("ign.yml", []byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", src, err, want)
		}
	}
}

func TestNoDatabaseIsInconclusive(t *testing.T) {
	inv, _ := inventory.Scan("testdata/erlmcp")
	r := Audit(Options{Inventory: inv})
	if r.Verdict != gate.Inconclusive {
		t.Errorf("verdict %s", r.Verdict)
	}
	r = Audit(Options{Inventory: &inventory.Inventory{}, DB: osv.New()})
	if r.Verdict != gate.Skipped {
		t.Errorf("verdict %s", r.Verdict)
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), old, new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func checkRules(t *testing.T, dir string) (gate.Verdict, []string) {
	t.Helper()
	r, err := CheckLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range r.Findings {
		p := f.Pos
		p.File = filepath.Base(p.File)
		rules = append(rules, f.Rule+" "+p.String())
	}
	return r.Verdict, rules
}

func TestCheckLockRebar(t *testing.T) {
	if v, rules := checkRules(t, "testdata/erlmcp"); v != gate.Pass {
		t.Fatalf("erlmcp as published: %s %v", v, rules)
	}
	d := copyDir(t, "testdata/erlmcp")
	edit(t, filepath.Join(d, "rebar.config"), `{cowboy, "2.10.0"}`, `{cowboy, "2.11.0"}`)
	if v, rules := checkRules(t, d); v != gate.Fail || !slices.Equal(rules, []string{RuleLockMismatch + " rebar.lock:5"}) {
		t.Errorf("version bumped in rebar.config: %s %v", v, rules)
	}
	d = copyDir(t, "testdata/erlmcp")
	edit(t, filepath.Join(d, "rebar.config"), `{gproc, "0.9.0"},`, `{gproc, "0.9.0"}, {recon, "2.5.6"},`)
	edit(t, filepath.Join(d, "rebar.config"), `{poolboy, "1.5.2"},`, ``)
	v, rules := checkRules(t, d)
	if v != gate.Fail || len(rules) != 2 || !strings.HasPrefix(rules[0], RuleLockMissing+" rebar.config:27") || !strings.HasPrefix(rules[1], RuleLockExtra+" rebar.lock:") {
		t.Errorf("dep added and removed: %s %v", v, rules)
	}
	d = copyDir(t, "testdata/erlmcp")
	os.Remove(filepath.Join(d, "rebar.lock"))
	if v, rules := checkRules(t, d); v != gate.Fail || len(rules) != 1 || !strings.HasPrefix(rules[0], RuleNoLockfile) {
		t.Errorf("no lockfile: %s %v", v, rules)
	}
}

func TestCheckLockRealWorld(t *testing.T) {
	// go.mod/go.sum and package.json/package-lock.json v1-v3 as published.
	if v, rules := checkRules(t, realWorld); v != gate.Pass {
		t.Errorf("%s %v", v, rules)
	}
	d := copyDir(t, realWorld+"/npm/dorny-test-reporter-lockfile-v3")
	edit(t, filepath.Join(d, "package.json"), `"@actions/core": "^`, `"@actions/core": "^9`)
	if v, rules := checkRules(t, d); v != gate.Fail || len(rules) != 1 || !strings.HasPrefix(rules[0], RuleLockMismatch+" package.json:") {
		t.Errorf("package.json range changed: %s %v", v, rules)
	}
	d = copyDir(t, realWorld+"/go/rhysd-actionlint")
	edit(t, filepath.Join(d, "go.sum"), "github.com/mattn/go-shellwords", "github.com/mattn/go-shellwordz")
	if v, rules := checkRules(t, d); v != gate.Fail || len(rules) != 1 || !strings.HasPrefix(rules[0], RuleLockMissing+" go.mod:") {
		t.Errorf("go.sum line lost: %s %v", v, rules)
	}
}

func TestCheckLockMix(t *testing.T) {
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, "mix.exs"), []byte(`defmodule App.MixProject do
  use Mix.Project
  defp deps do
    [
      {:plug, "~> 1.11"},
      # {:commented, "~> 1.0"},
      {:jason, "~> 1.0", only: :test}
    ]
  end
end
`), 0o644)
	b, _ := os.ReadFile("../../inventory/testdata/osv-scalibr/erlang/mixlock/two-packages.lock")
	os.WriteFile(filepath.Join(d, "mix.lock"), b, 0o644)
	v, rules := checkRules(t, d)
	if v != gate.Fail || !slices.Equal(rules, []string{RuleLockMissing + " mix.exs:7"}) {
		t.Errorf("%s %v", v, rules)
	}
	edit(t, filepath.Join(d, "mix.exs"), `{:plug, "~> 1.11"}`, `{:plug, "~> 1.12"}`)
	edit(t, filepath.Join(d, "mix.exs"), `{:jason, "~> 1.0", only: :test}`, ``)
	v, rules = checkRules(t, d)
	if v != gate.Fail || !slices.Equal(rules, []string{RuleLockMismatch + " mix.lock:2"}) {
		t.Errorf("%s %v", v, rules)
	}
}

func TestTreeMarkdown(t *testing.T) {
	d := t.TempDir()
	b, _ := os.ReadFile("../../inventory/testdata/osv-scalibr/erlang/mixlock/two-packages.lock")
	os.WriteFile(filepath.Join(d, "mix.lock"), b, 0o644)
	inv, err := inventory.Scan(d)
	if err != nil {
		t.Fatal(err)
	}
	md := TreeMarkdown(inv, TreeOptions{Vulnerable: map[string]string{"Hex/plug_crypto@1.2.2": "GHSA-x"}})
	want := "- `plug@1.11.1`\n  - `plug_crypto@1.2.2` ⚠️ GHSA-x\n"
	if !strings.Contains(md, want) {
		t.Errorf("tree:\n%s\nwant to contain:\n%s", md, want)
	}
	inv, _ = inventory.Scan(realWorld)
	md1, md2 := TreeMarkdown(inv, TreeOptions{}), TreeMarkdown(inv, TreeOptions{})
	if md1 != md2 || !strings.Contains(md1, "<code>erlang/rebar3-2022/rebar.lock</code> (rebar.lock): 10 packages, 10 direct") {
		t.Error("tree not deterministic or rebar.lock missing")
	}
}
