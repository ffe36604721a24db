package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the CLI in dir (when set) and returns exit code, stdout, stderr.
func runCLI(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if dir != "" {
		wd, _ := os.Getwd()
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
	}
	code := Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

const coverageTestData = "../../internal/gate/coverage/testdata/corpus/"

func TestCoverageThresholds(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	mux := coverageTestData + "gocover-cobertura/regression/mux/v1.8.1/coverage.txt"
	// 87.59% of statements: above min 80, below stretch 90 -> warn, exit 0.
	code, out, errs := runCLI(t, "", "coverage", mux, "--min", "80", "--stretch", "90")
	if code != 0 || !strings.Contains(out, "coverage: warn — 87.59% < stretch 90%") {
		t.Fatalf("stretch: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "", "coverage", mux, "--min", "90%")
	if code != 1 || !strings.Contains(out, "87.59% < min 90%") {
		t.Fatalf("min: exit %d\n%s", code, out)
	}
	// A critical module below its own minimum fails even when the total passes.
	code, out, _ = runCLI(t, "", "coverage", mux, "--min", "50", "--module", "github.com/gorilla/mux=95")
	if code != 1 || !strings.Contains(out, "module github.com/gorilla/mux coverage 87.59% is below its minimum 95%") {
		t.Fatalf("module: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "coverage", mux, "--module", "no/such/pkg=10")
	if code != 1 || !strings.Contains(out, `module "no/such/pkg" has a minimum`) {
		t.Fatalf("absent module: exit %d\n%s", code, out)
	}
	// --json carries the numbers.
	code, out, _ = runCLI(t, "", "coverage", mux, "--min", "80", "--json")
	var rep struct {
		Verdict string
		Data    struct {
			Unit    string
			Covered int
			Total   int
			Percent float64
			Modules []struct{ Name string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("json: exit %d %v\n%s", code, err, out)
	}
	if rep.Verdict != "pass" || rep.Data.Unit != "statements" || rep.Data.Covered != 515 || rep.Data.Total != 588 || len(rep.Data.Modules) != 1 {
		t.Fatalf("json: %+v", rep)
	}
}

func TestCoverageBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.out")
	os.WriteFile(bad, []byte("mode: set\na.go:1.1,2.2 1 1\na.go:1.1,2.x 1 1\n"), 0o644)
	code, _, errs := runCLI(t, "", "coverage", bad, "--min", "80")
	if code != 2 || !strings.Contains(errs, "bad.out:3:") {
		t.Fatalf("bad profile: exit %d %q", code, errs)
	}
	notcov := filepath.Join(dir, "x.txt")
	os.WriteFile(notcov, []byte("hello\n"), 0o644)
	if code, _, errs := runCLI(t, "", "coverage", notcov); code != 2 || !strings.Contains(errs, "not a coverage report") {
		t.Fatalf("not coverage: exit %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "", "coverage", filepath.Join(dir, "missing.out")); code != 2 {
		t.Fatalf("missing file: exit %d", code)
	}
	if code, _, errs := runCLI(t, "", "coverage", bad, "--min", "180"); code != 2 || !strings.Contains(errs, "--min") {
		t.Fatalf("bad --min: exit %d %q", code, errs)
	}
	// A failed run leaves no half-written side report.
	md := filepath.Join(dir, "report.md")
	runCLI(t, "", "coverage", bad, "--markdown", md)
	if _, err := os.Stat(md); err == nil {
		t.Fatal("markdown report written for bad input")
	}
}

func TestCoverageConfigAndSummary(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "coverage.yml")
	os.WriteFile(cfg, []byte("min: 10\nstretch: 20\nmodules:\n  erlcount_lib: 95\n  erlcount_sup: 0\n"), 0o644)
	summary := filepath.Join(dir, "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	pages, _ := filepath.Glob(coverageTestData + "erlang-cover/sonar-erlang/erlcount*.COVER.html")
	var src []string
	for _, p := range pages {
		if !strings.Contains(p, "eunit") {
			src = append(src, p)
		}
	}
	args := append([]string{"coverage", "--config", cfg}, src...)
	code, out, errs := runCLI(t, "", args...)
	if code != 1 || !strings.Contains(out, "module erlcount_lib coverage 90.48% is below its minimum 95%") {
		t.Fatalf("config: exit %d\n%s%s", code, out, errs)
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	// Critical modules come first in the table.
	s := string(md)
	if !strings.Contains(s, "| module | coverage | min |") || strings.Index(s, "`erlcount_lib` | 90.48% (19/21) | 95% |") > strings.Index(s, "`erlcount_counter` |") {
		t.Fatalf("summary:\n%s", s)
	}
	// A bad config is exit 2 with a position.
	os.WriteFile(cfg, []byte("min: 10\nstrech: 20\n"), 0o644)
	if code, _, errs := runCLI(t, "", "coverage", "--config", cfg, src[0]); code != 2 || !strings.Contains(errs, "[2:1]") {
		t.Fatalf("bad config: exit %d %q", code, errs)
	}
}

// TestCoveragePatchGit measures the lines changed on a branch of a real git
// repository against an LCOV report.
func TestCoveragePatchGit(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "src/calc.js"), []byte("a\nb\nc\n"), 0o644)
	git("add", ".")
	git("commit", "-q", "-m", "base")
	git("checkout", "-q", "-b", "feature")
	os.WriteFile(filepath.Join(dir, "src/calc.js"), []byte("a\nb\nc\nd\ne\nf\n"), 0o644)
	git("commit", "-q", "-am", "add d e f")
	// Unstaged change counts too (diff_cover includes it).
	os.WriteFile(filepath.Join(dir, "src/calc.js"), []byte("a\nb\nc\nd\ne\nf\ng\n"), 0o644)
	lcov := "SF:" + filepath.Join(dir, "src/calc.js") + "\nDA:1,1\nDA:2,1\nDA:3,1\nDA:4,1\nDA:5,0\nDA:7,0\nend_of_record\n"
	os.WriteFile(filepath.Join(dir, "lcov.info"), []byte(lcov), 0o644)
	code, out, errs := runCLI(t, dir, "coverage", "lcov.info", "--patch-min", "60", "--base", "main")
	// Changed lines 4,5,6,7; measured 4,5,7 (6 is not executable); 1 of 3 covered.
	if code != 1 || !strings.Contains(out, "patch 33.33% < 60%") || !strings.Contains(out, "src/calc.js:5: warning: changed line not covered") || !strings.Contains(out, "src/calc.js:7:") {
		t.Fatalf("patch: exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runCLI(t, dir, "coverage", "lcov.info", "--patch-min", "30", "--base", "main"); code != 0 {
		t.Fatalf("patch 30: exit %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, dir, "coverage", "lcov.info", "--patch-min", "30", "--base", "nosuchref"); code != 2 || !strings.Contains(errs, "nosuchref") {
		t.Fatalf("bad ref: exit %d %q", code, errs)
	}
}

// TestCoverageBaseline records a run for main and shows deltas against it.
func TestCoverageBaseline(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	mux, _ := filepath.Abs(coverageTestData + "gocover-cobertura/regression/mux/v1.8.1/coverage.txt")
	set, _ := filepath.Abs(coverageTestData + "gocover-cobertura/testdata_set.txt")
	if code, _, errs := runCLI(t, dir, "coverage", set, "--record", "--branch", "main", "--store", st); code != 0 {
		t.Fatalf("record: exit %d %s", code, errs)
	}
	// No run for "release": no deltas, said on stderr.
	if code, _, errs := runCLI(t, dir, "coverage", mux, "--baseline", "release", "--store", st); code != 0 || !strings.Contains(errs, "no stored coverage run for branch release") {
		t.Fatalf("no baseline: exit %d %q", code, errs)
	}
	// testdata_set.txt is 75% of statements; mux is 87.59%: +12.59.
	code, out, _ := runCLI(t, dir, "coverage", mux, "--baseline", "main", "--store", st, "--format", "markdown")
	if code != 0 || !strings.Contains(out, "▲ +12.59 vs main") {
		t.Fatalf("baseline: exit %d\n%s", code, out)
	}
}
