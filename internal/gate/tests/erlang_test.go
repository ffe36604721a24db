package tests

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/gate"
	"github.com/shipgate/shipgate/internal/gate/coverage"
)

// erlangProject copies testdata/rebar3demo to a temporary directory. The
// test needs Debian's erlang and rebar3 packages (scripts/packages.txt);
// scripts/test installs them when missing.
func erlangProject(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"erl", "rebar3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install Debian's erlang-nox and rebar3 (scripts/packages.txt)", tool)
		}
	}
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-r", "testdata/rebar3demo/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	return dir
}

func rebar3(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("rebar3", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REBAR_COLOR=none", "HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Run() // failing tests exit non-zero; the reports tell
	return out.String()
}

// TestErlangForReal runs EUnit and Common Test with rebar3 on the demo
// project, reads their JUnit reports and the cover output, applies
// thresholds, and finds the flaky EUnit test in re-run mode.
func TestErlangForReal(t *testing.T) {
	dir := erlangProject(t)

	// 1. Flaky detection in re-run mode: the first `rebar3 eunit` fails
	// flip_test, the re-run with --module passes it.
	runner := NewCommandRunner([]string{"rebar3", "eunit"}, dir, "_build/test/TEST-*.xml")
	if runner.Tool() != ToolRebar3EUnit {
		t.Fatalf("tool %q", runner.Tool())
	}
	res, err := Detect(context.Background(), runner, FlakyOptions{Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Class{}
	for _, o := range res.Tests {
		got[o.ID] = o.Class
	}
	want := map[string]Class{
		"calc_flaky_tests::flip_test": FlakyTest,
		"calc_tests::add_test":        StablePass,
		"calc_tests::div_test":        StablePass,
		"calc_tests::sign_test":       StablePass,
	}
	for id, c := range want {
		if got[id] != c {
			t.Errorf("%s: %q, want %q (all: %v)", id, got[id], c, got)
		}
	}
	if res.Mode != ModeRerunFailures || res.Attempts != 2 || res.Executions != 5 {
		t.Errorf("mode %s, %d attempts, %d executions; want rerun-failures, 2, 5 (4 tests + 1 re-run)", res.Mode, res.Attempts, res.Executions)
	}
	if args := runner.selectArgs([]Case{{Class: "calc_flaky_tests", Name: "flip_test"}}); strings.Join(args[0], " ") != "rebar3 eunit --module=calc_flaky_tests" {
		t.Errorf("re-run command %v", args)
	}
	fr := FlakyReport(res, FlakyReportOptions{Now: time.Now()})
	if fr.Verdict != gate.Warn {
		t.Errorf("flaky verdict %s (%s)", fr.Verdict, fr.Reason)
	}

	// 1b. The same with Common Test: the re-run selects the suite and case.
	t.Setenv("CALC_FLAKY_STATE", filepath.Join(dir, "ct_state"))
	ctRunner := NewCommandRunner([]string{"rebar3", "ct"}, dir, "_build/test/logs/ct_run.*/junit_report.xml")
	res, err = Detect(context.Background(), ctRunner, FlakyOptions{Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]Class{}
	for _, o := range res.Tests {
		got[o.ID] = o.Class
	}
	for id, c := range map[string]Class{"calc_SUITE::flaky_case": FlakyTest, "calc_SUITE::sub_case": StablePass, "calc_SUITE::zero_case": StablePass} {
		if got[id] != c {
			t.Errorf("CT %s: %q, want %q (all: %v)", id, got[id], c, got)
		}
	}
	if res.Attempts != 2 || res.Executions != 4 {
		t.Errorf("CT: %d attempts, %d executions; want 2, 4", res.Attempts, res.Executions)
	}
	if args := ctRunner.selectArgs([]Case{{Suite: "calc_SUITE", Name: "flaky_case"}}); strings.Join(args[0], " ") != "rebar3 ct --suite=calc_SUITE --case=flaky_case" {
		t.Errorf("CT re-run command %v", args)
	}
	t.Setenv("CALC_FLAKY_STATE", "")

	// 2. EUnit and Common Test reports through `tests report`.
	os.Remove(filepath.Join(dir, "_build/flaky_state"))
	rebar3(t, dir, "eunit") // flip_test fails this time
	rebar3(t, dir, "ct")
	eunit, _ := filepath.Glob(filepath.Join(dir, "_build/test/TEST-*.xml"))
	ct, _ := filepath.Glob(filepath.Join(dir, "_build/test/logs/ct_run.*/junit_report.xml"))
	// The newest CT run (the ones above were the flaky detection).
	slices.Sort(ct)
	ct = ct[len(ct)-1:]
	if len(eunit) == 0 || len(ct) != 1 {
		t.Fatalf("reports: eunit %v ct %v", eunit, ct)
	}
	rep, err := ReadFiles(append(eunit, ct...)...)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.TestCounts()
	// 4 EUnit tests (one failing) + 3 CT cases; CT's passing
	// init/end_per_suite are configuration, not tests.
	if c.Total != 7 || c.Passed != 6 || c.Failed+c.Errored != 1 {
		t.Errorf("counts %+v", c)
	}
	var ctNames []string
	for _, k := range rep.Cases {
		if k.Suite == "calc_SUITE" {
			ctNames = append(ctNames, k.Name)
		}
	}
	if strings.Join(ctNames, ",") != "sub_case,zero_case,flaky_case" {
		t.Errorf("CT cases %v", ctNames)
	}
	gr := Evaluate(rep, nil, time.Now())
	if gr.Verdict != gate.Fail || gr.ExitCode() != 1 {
		t.Errorf("verdict %s", gr.Verdict)
	}
	// Quarantined, the flaky failure no longer fails the gate.
	qf := filepath.Join(dir, "quarantine.yml")
	os.WriteFile(qf, []byte("tests:\n  - test: calc_flaky_tests::flip_test\n    owner: \"@erlang-team\"\n    reason: flips on purpose\n    expires: 2999-01-01\n"), 0o644)
	q, err := LoadQuarantine(qf, false)
	if err != nil {
		t.Fatal(err)
	}
	if gr := Evaluate(rep, q, time.Now()); gr.Verdict != gate.Warn {
		t.Errorf("quarantined verdict %s (%s)", gr.Verdict, gr.Reason)
	}

	// 3. Coverage: rebar3 cover --verbose, and the pages it wrote.
	out := rebar3(t, dir, "cover", "--verbose")
	verbose, err := coverage.Parse("rebar3 cover --verbose", []byte(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "_build/test/cover/aggregate/*.html"))
	if len(pages) != 1 {
		t.Fatalf("cover pages %v", pages)
	}
	lines, err := coverage.ReadFiles(pages...)
	if err != nil {
		t.Fatal(err)
	}
	index, err := coverage.ReadFiles(filepath.Join(dir, "_build/test/cover/index.html"))
	if err != nil {
		t.Fatal(err)
	}
	// rebar3 prints whole percents (rounded); the pages give line counts.
	pct := lines.Total().Percent()
	if verbose.DeclaredPercent != float64(int(pct+0.5)) || index.DeclaredPercent != verbose.DeclaredPercent {
		t.Errorf("rebar3 says %v%% (index %v%%), pages give %v (%.2f%%)", verbose.DeclaredPercent, index.DeclaredPercent, lines.Total(), pct)
	}
	if lines.Total().Total < 7 {
		t.Errorf("too few executable lines: %v", lines.Total())
	}
	// Thresholds: a module minimum on calc.
	cr := coverage.Evaluate(lines, coverage.Options{Min: 50, Modules: []coverage.ModuleMin{{Pattern: "calc", Min: 99}}})
	if cr.Verdict != gate.Fail || !strings.Contains(cr.Reason, "module calc") {
		t.Errorf("coverage verdict %s: %s", cr.Verdict, cr.Reason)
	}
	if cr := coverage.Evaluate(lines, coverage.Options{Min: 50}); cr.Verdict != gate.Pass {
		t.Errorf("coverage min 50: %s %s", cr.Verdict, cr.Reason)
	}
	t.Logf("rebar3 cover: %v%%; pages %d/%d lines; tests %+v", verbose.DeclaredPercent, lines.Total().Covered, lines.Total().Total, c)
}
