package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	erlmcp       = "../../internal/gate/deps/testdata/erlmcp"
	osvCorpus    = "../../internal/osv/testdata/corpus"
	licenseProj  = "../../internal/gate/license/testdata/project"
	licenseCache = "../../internal/gate/license/testdata/gomodcache"
)

func TestDepsAuditCLI(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	sarif := filepath.Join(t.TempDir(), "deps.sarif")
	code, out, errs := runCLI(t, "", "deps", "audit", erlmcp, "--db", osvCorpus, "--sarif", sarif)
	if code != 1 || !strings.Contains(out, "deps: fail — 10 vulnerabilities in 4 of 21 packages") ||
		!strings.Contains(out, "rebar.lock:5: cowboy 2.10.0: GHSA-jfc2-q6qh-g5x8 HIGH") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	var s struct {
		Runs []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	b, err := os.ReadFile(sarif)
	if err != nil || json.Unmarshal(b, &s) != nil || len(s.Runs) != 1 || len(s.Runs[0].Results) != 10 {
		t.Errorf("sarif: %v %s", err, b)
	}

	// Ignore entries need a reason and an expiry: bad file is exit 2.
	ign := filepath.Join(t.TempDir(), "ignore.yml")
	os.WriteFile(ign, []byte("ignore:\n  - id: GHSA-jfc2-q6qh-g5x8\n    reason: x\n"), 0o644)
	code, _, errs = runCLI(t, "", "deps", "audit", erlmcp, "--db", osvCorpus, "--ignore", ign)
	if code != 2 || !strings.Contains(errs, "ignore.yml:2:5: ignore entry 1: GHSA-jfc2-q6qh-g5x8 needs an expiry date") {
		t.Errorf("ignore without expiry: exit %d %s", code, errs)
	}

	// A broken record is exit 2 with its position.
	db := t.TempDir()
	os.WriteFile(filepath.Join(db, "bad.json"), []byte("{\n \"id\": \"X\",\n \"affected\": [1,]\n}"), 0o644)
	code, _, errs = runCLI(t, "", "deps", "audit", erlmcp, "--db", db)
	if code != 2 || !strings.Contains(errs, "bad.json:3:") {
		t.Errorf("bad record: exit %d %s", code, errs)
	}

	// No database: inconclusive, exit 0, JSON output.
	code, out, _ = runCLI(t, t.TempDir(), "deps", "audit", mustAbs(t, erlmcp), "--json")
	var rep struct{ Verdict string }
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Verdict != "inconclusive" {
		t.Errorf("no db: exit %d %s", code, out)
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDepsTreeAndCheckLockCLI(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	code, out, errs := runCLI(t, "", "deps", "tree", erlmcp, "--db", osvCorpus)
	if code != 0 || !strings.Contains(out, "- `cowboy@2.10.0` ⚠️ GHSA-jfc2-q6qh-g5x8") {
		t.Fatalf("tree: exit %d\n%s%s", code, out, errs)
	}
	if b, _ := os.ReadFile(summary); !bytes.Equal(b, []byte(out)) {
		t.Error("tree not appended to the step summary")
	}
	code, out, _ = runCLI(t, "", "deps", "tree", erlmcp, "--json")
	var inv struct {
		Lockfiles []struct {
			Packages []struct{ Name, Purl string }
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &inv) != nil || len(inv.Lockfiles) != 1 || len(inv.Lockfiles[0].Packages) != 21 {
		t.Errorf("tree --json: exit %d %s", code, out)
	}
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	code, out, _ = runCLI(t, "", "deps", "check-lock", erlmcp)
	if code != 0 || !strings.Contains(out, "deps check-lock: pass — 1 lockfile") {
		t.Errorf("check-lock: exit %d %s", code, out)
	}
}

func TestLicensesCLI(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	code, out, errs := runCLI(t, "", "licenses", licenseProj, "--allow", "MIT,Apache-2.0,BSD-3-Clause", "--deny", "GPL-3.0-only", "--gomodcache", licenseCache)
	if code != 1 || !strings.Contains(out, "@scope/gpl-thing 2.0.1: GPL-3.0-only (denied: GPL-3.0-only) [license/denied]") ||
		!strings.Contains(out, "getopt 1.0.1: declares BSD-3-Clause") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	pol := filepath.Join(t.TempDir(), "licenses.yml")
	os.WriteFile(pol, []byte("allow: [MIT, Apache-2.0, BSD-3-Clause, WTFPL]\nexceptions:\n  - package: \"@scope/gpl-thing\"\n    reason: build tool only\n"), 0o644)
	code, out, _ = runCLI(t, "", "licenses", licenseProj, "--policy", pol, "--gomodcache", licenseCache)
	if code != 0 || !strings.Contains(out, "licenses: warn") {
		t.Errorf("policy with exception: exit %d %s", code, out)
	}
	os.WriteFile(pol, []byte("allow: MIT\nunknwn: fail\n"), 0o644)
	if code, _, errs = runCLI(t, "", "licenses", licenseProj, "--policy", pol); code != 2 || !strings.Contains(errs, "licenses.yml:") {
		t.Errorf("bad policy: exit %d %s", code, errs)
	}
}

func TestSBOMCLI(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dir := t.TempDir()
	var outs [][]byte
	for i := 0; i < 2; i++ {
		f := filepath.Join(dir, "sbom.spdx.json")
		code, out, errs := runCLI(t, "", "sbom", erlmcp, "--format", "spdx-json", "--output", f)
		if code != 0 || !strings.Contains(out, "(spdx-json, 21 components)") {
			t.Fatalf("exit %d %s %s", code, out, errs)
		}
		b, _ := os.ReadFile(f)
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) || !bytes.Contains(outs[0], []byte(`"created": "2023-11-14T22:13:20Z"`)) {
		t.Error("SBOM not deterministic under SOURCE_DATE_EPOCH")
	}
	if code, _, errs := runCLI(t, "", "sbom", erlmcp, "--format", "cyclonedx"); code != 2 || !strings.Contains(errs, "unknown --format") {
		t.Errorf("bad format: exit %d %s", code, errs)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "soon")
	if code, _, _ := runCLI(t, "", "sbom", erlmcp); code != 2 {
		t.Errorf("bad SOURCE_DATE_EPOCH: exit %d", code)
	}
}
