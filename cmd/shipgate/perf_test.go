package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func runMain(t *testing.T, dir string, args ...string) (int, string, string) {
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

const perfData = "../../internal/gate/perf/testdata/benchstat/"

func TestPerfCompareExitCodes(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	// new.txt is 17% faster on json: an improvement passes.
	if code, out, errs := runMain(t, "", "perf", "compare", perfData+"old.txt", perfData+"new.txt"); code != 0 || !strings.Contains(out, "-17.20% (p=0.000 n=10)") {
		t.Fatalf("improvement: exit %d\n%s%s", code, out, errs)
	}
	// The other way round it is a +20.77% regression: exit 1.
	code, out, _ := runMain(t, "", "perf", "compare", perfData+"new.txt", perfData+"old.txt")
	if code != 1 || !strings.Contains(out, "perf: fail") || !strings.Contains(out, "+20.77%") {
		t.Fatalf("regression: exit %d\n%s", code, out)
	}
	// Above the threshold only: with --threshold 25 it passes.
	if code, out, _ := runMain(t, "", "perf", "compare", perfData+"new.txt", perfData+"old.txt", "--threshold", "25"); code != 0 {
		t.Fatalf("threshold 25: exit %d\n%s", code, out)
	}
	// JSON carries the rows.
	code, out, _ = runMain(t, "", "perf", "compare", perfData+"new.txt", perfData+"old.txt", "--json")
	var rep struct {
		Verdict string
		Data    struct {
			Rows []struct {
				Name   string
				Status string
				Delta  string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.Verdict != "fail" || len(rep.Data.Rows) != 2 || rep.Data.Rows[0].Status != "regression" {
		t.Fatalf("json: exit %d %v\n%s", code, err, out)
	}
}

func TestPerfCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("a 1 ms\nnot a line\n"), 0o644)
	code, _, errs := runMain(t, "", "perf", "compare", bad, bad)
	if code != 2 || !strings.Contains(errs, "bad.txt:2:1:") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if code, _, errs := runMain(t, "", "perf", "compare", filepath.Join(dir, "missing.txt"), bad); code != 2 || !strings.Contains(errs, "missing.txt") {
		t.Fatalf("missing file: exit %d: %s", code, errs)
	}
	if code, _, _ := runMain(t, "", "perf", "compare", bad, bad, "--alpha", "2"); code != 2 {
		t.Fatalf("bad alpha: exit %d", code)
	}
	if code, _, errs := runMain(t, "", "perf", "compare", "--baseline", "main", "--store", filepath.Join(dir, "st"), bad); code != 2 || !strings.Contains(errs, "no perf baseline") {
		t.Fatalf("missing baseline: exit %d: %s", code, errs)
	}
}

func TestPerfBaselineRoundTrip(t *testing.T) {
	st := filepath.Join(t.TempDir(), ".shipgate")
	if code, _, errs := runMain(t, "", "perf", "compare", perfData+"old.txt", perfData+"new.txt", "--save-baseline", "main", "--store", st, "--revision", "abc"); code != 0 {
		t.Fatalf("save: exit %d %s", code, errs)
	}
	// The baseline is new.txt; old.txt against it is the +20.77% regression.
	code, out, errs := runMain(t, "", "perf", "compare", "--baseline", "main", "--store", st, perfData+"old.txt")
	if code != 1 || !strings.Contains(out, "+20.77% (p=0.000 n=10)") {
		t.Fatalf("baseline compare: exit %d\n%s%s", code, out, errs)
	}
}

// TestPerfRunInterleaved runs two scripts that print Go benchmark lines: the
// "new" one is 20% slower, and the interleaved run must catch it; the same
// script on both sides must pass.
func TestPerfRunInterleaved(t *testing.T) {
	dir := t.TempDir()
	script := func(name string, base int) string {
		p := filepath.Join(dir, name)
		body := "#!/bin/sh\nc=" + dir + "/" + name + ".n\nn=$(cat $c 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > $c\n" +
			"echo \"BenchmarkWork-2 1000 $((" + strconv.Itoa(base) + " + n % 3)) ns/op\"\necho PASS\n"
		os.WriteFile(p, []byte(body), 0o755)
		return p
	}
	oldS, newS := script("old.sh", 100), script("new.sh", 120)
	out := filepath.Join(dir, "new.txt")
	code, stdout, errs := runMain(t, "", "perf", "run", "--count", "6", "--interleave", oldS, "--out", out, "--", newS)
	if code != 1 || !strings.Contains(stdout, "regression") {
		t.Fatalf("interleaved regression: exit %d\n%s%s", code, stdout, errs)
	}
	if !strings.Contains(errs, "run 2/6 (new)") || strings.Index(errs, "run 2/6 (new)") > strings.Index(errs, "run 2/6 (base)") {
		t.Errorf("want ABBA order (round 2 runs new first):\n%s", errs)
	}
	data, err := os.ReadFile(out)
	if err != nil || strings.Count(string(data), "BenchmarkWork-2") != 6 {
		t.Fatalf("--out: %v\n%s", err, data)
	}
	if code, stdout, errs := runMain(t, "", "perf", "run", "--count", "6", "--interleave", oldS, "--", oldS); code != 0 {
		t.Fatalf("A/A: exit %d\n%s%s", code, stdout, errs)
	}
	// Record only: skipped, exit 0.
	if code, stdout, _ := runMain(t, "", "perf", "run", "--count", "2", "--", newS); code != 0 || !strings.Contains(stdout, "perf: skipped") {
		t.Fatalf("record: exit %d\n%s", code, stdout)
	}
	// A failing command is a failed run.
	if code, _, _ := runMain(t, "", "perf", "run", "--count", "1", "--", "false"); code != 1 {
		t.Fatalf("failing command: exit %d", code)
	}
}
