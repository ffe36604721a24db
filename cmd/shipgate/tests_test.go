package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testsJUnitData = "../../internal/gate/tests/testdata/junit/publish-unit-test-result/junit-xml/"

func TestTestsReport(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	// All pass: exit 0.
	code, out, errs := runCLI(t, "", "tests", "report", testsJUnitData+"testsuite-in-testsuite.xml", "--quarantine", "/dev/null")
	if code != 0 || !strings.Contains(out, "tests: pass — 5 tests passed") {
		t.Fatalf("pass: exit %d\n%s%s", code, out, errs)
	}
	// A failure and an error: exit 1, each named.
	code, out, _ = runCLI(t, "", "tests", "report", testsJUnitData+"minimal-attributes.xml", "--json")
	var rep struct {
		Verdict string
		Data    struct {
			Tests struct{ Total, Passed, Failed, Errored, Skipped int }
		}
		Findings []struct{ Message string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("fail: exit %d %v\n%s", code, err, out)
	}
	if rep.Verdict != "fail" || rep.Data.Tests.Total != 4 || rep.Data.Tests.Failed != 1 || rep.Data.Tests.Errored != 1 || len(rep.Findings) != 2 {
		t.Fatalf("fail: %+v", rep)
	}
	// Globs are expanded when the shell did not (workflow inputs).
	// testsuite-in-testsuite.xml and testsuite-root.xml hold the same 5
	// tests: 10 runs of 5 tests.
	code, out, _ = runCLI(t, "", "tests", "report", testsJUnitData+"testsuite-*.xml", "--json")
	var g struct {
		Data struct{ Runs, Tests struct{ Total int } }
	}
	if err := json.Unmarshal([]byte(out), &g); err != nil || code != 0 || g.Data.Runs.Total != 10 || g.Data.Tests.Total != 5 {
		t.Fatalf("glob: exit %d %v\n%s", code, err, out)
	}
}

func TestTestsQuarantine(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := t.TempDir()
	q := filepath.Join(dir, "quarantine.yml")
	os.WriteFile(q, []byte(`tests:
  - test: "ClassName::failed_test"
    owner: "@alice"
    reason: "flaky on CI, #12"
    expires: 2999-12-31
  - test: "ClassName.error_*"
    owner: "@bob"
    reason: "infra"
    expires: 2999-12-31
`), 0o644)
	code, out, errs := runCLI(t, "", "tests", "report", testsJUnitData+"minimal-attributes.xml", "--quarantine", q)
	if code != 0 || !strings.Contains(out, "tests: warn") || !strings.Contains(out, "quarantined until 2999-12-31, owner @alice") {
		t.Fatalf("quarantined: exit %d\n%s%s", code, out, errs)
	}
	// An expired entry fails the gate, positioned in the quarantine file.
	os.WriteFile(q, []byte("tests:\n  - test: \"ClassName::failed_test\"\n    owner: \"@alice\"\n    reason: \"flaky\"\n    expires: 2020-01-01\n"), 0o644)
	code, out, _ = runCLI(t, "", "tests", "report", testsJUnitData+"testsuite-in-testsuite.xml", "--quarantine", q)
	if code != 1 || !strings.Contains(out, "quarantine.yml:2:") || !strings.Contains(out, "expired on 2020-01-01") {
		t.Fatalf("expired: exit %d\n%s", code, out)
	}
	// An entry without an owner is bad input.
	os.WriteFile(q, []byte("tests:\n  - test: x\n    reason: y\n    expires: 2999-01-01\n"), 0o644)
	if code, _, errs := runCLI(t, "", "tests", "report", testsJUnitData+"testsuite-in-testsuite.xml", "--quarantine", q); code != 2 || !strings.Contains(errs, "quarantine.yml:2:") || !strings.Contains(errs, "quarantine entry needs owner") {
		t.Fatalf("no owner: exit %d %q", code, errs)
	}
}

func TestTestsReportBadInput(t *testing.T) {
	code, _, errs := runCLI(t, "", "tests", "report", testsJUnitData+"pytest/corrupt-xml.xml")
	if code != 2 || !strings.Contains(errs, "corrupt-xml.xml:11:") {
		t.Fatalf("corrupt: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "tests", "report", testsJUnitData+"non-junit.xml"); code != 2 || !strings.Contains(errs, "not a test report") {
		t.Fatalf("non-junit: exit %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "", "tests", "report", "no/such/file.xml"); code != 2 {
		t.Fatalf("missing: exit %d", code)
	}
}

// TestTestsFlakyGo runs a real `go test -json` on a module whose test flips
// between runs: re-run mode finds it flaky with one extra execution, and the
// history keeps its flip rate.
func TestTestsFlakyGo(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module flakydemo\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "demo_test.go"), []byte(`package flakydemo

import (
	"os"
	"testing"
)

func TestStable(t *testing.T) {}

func TestBroken(t *testing.T) { t.Fatal("always fails") }

// TestFlip fails when the state file is absent and passes when present.
func TestFlip(t *testing.T) {
	if _, err := os.Stat("state"); err != nil {
		os.WriteFile("state", []byte("x"), 0o644)
		t.Fatal("first run fails")
	}
	os.Remove("state")
}
`), 0o644)
	store := filepath.Join(dir, ".shipgate")
	code, out, errs := runCLI(t, dir, "tests", "flaky", "--runs", "3", "--store", store, "--json", "--", "go", "test", "-json", ".")
	var rep struct {
		Verdict string
		Data    struct {
			Mode       string
			Attempts   int
			Executions int
			Tests      []struct {
				ID      string
				Class   string
				Results []string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("exit %d %v\n%s%s", code, err, out, errs)
	}
	got := map[string]string{}
	for _, tt := range rep.Data.Tests {
		got[tt.ID] = tt.Class
	}
	// TestBroken fails every attempt (exit 1); TestFlip is flaky; TestStable
	// is new (first time in the history).
	if code != 1 || got["flakydemo::TestBroken"] != "stable fail" || got["flakydemo::TestFlip"] != "flaky" || got["flakydemo::TestStable"] != "new" {
		t.Fatalf("exit %d, classes %v\n%s", code, got, out)
	}
	// 3 tests, then TestBroken and TestFlip re-run, then TestBroken again.
	if rep.Data.Mode != "rerun-failures" || rep.Data.Attempts != 3 || rep.Data.Executions != 6 {
		t.Fatalf("mode %s attempts %d executions %d", rep.Data.Mode, rep.Data.Attempts, rep.Data.Executions)
	}
	// Second time: TestStable is known now; the history has flip rates.
	code, out, _ = runCLI(t, dir, "tests", "flaky", "--runs", "3", "--store", store, "--", "go", "test", "-json", ".")
	if code != 1 || !strings.Contains(out, "flakydemo::TestFlip is flaky: FAIL pass, flip rate") || !strings.Contains(out, "1 stable pass") {
		t.Fatalf("second: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, dir, "tests", "history", "--store", store, "--json")
	var hist struct {
		Runs  int
		Tests []struct {
			Test     string
			FlipRate float64 `json:"flip_rate"`
		}
	}
	if err := json.Unmarshal([]byte(out), &hist); err != nil || code != 0 || hist.Runs != 2 {
		t.Fatalf("history: exit %d %v\n%s", code, err, out)
	}
	rates := map[string]float64{}
	for _, h := range hist.Tests {
		rates[h.Test] = h.FlipRate
	}
	// TestFlip: FAIL pass | FAIL pass -> 3 flips in 3 transitions.
	if rates["flakydemo::TestFlip"] != 1 || rates["flakydemo::TestBroken"] != 0 {
		t.Fatalf("rates %v", rates)
	}
}

// TestTestsFlakyOtherRunner: a command shipgate cannot filter runs in full
// mode, and says so.
func TestTestsFlakyOtherRunner(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := t.TempDir()
	script := `n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count
r='<testcase classname="c" name="a"/>'
if [ $((n % 2)) = 1 ]; then r='<testcase classname="c" name="a"><failure message="odd"/></testcase>'; fi
echo "<testsuite name=\"s\">$r<testcase classname=\"c\" name=\"b\"/></testsuite>" > report.xml`
	code, out, errs := runCLI(t, dir, "tests", "flaky", "--runs", "2", "--no-history", "--junit", "report.xml", "--", "sh", "-c", script)
	if code != 0 || !strings.Contains(out, "1 flaky") || !strings.Contains(out, "full mode, 2 attempts") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	// No results at all is bad input.
	if code, _, errs := runCLI(t, dir, "tests", "flaky", "--no-history", "--junit", "none.xml", "--", "true"); code != 2 || !strings.Contains(errs, "wrote no JUnit file") {
		t.Fatalf("no results: exit %d %q", code, errs)
	}
}
