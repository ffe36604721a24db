package kube

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTarRoundTrip: pull's tar extracted elsewhere gives the same files;
// the size limit and unknown modes are errors.
func TestTarRoundTrip(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(src, "a", "b", "f.txt"), []byte("hello"), 0o640)
	os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.Symlink("run.sh", filepath.Join(src, "link"))
	var buf bytes.Buffer
	if err := writeTar(&buf, []string{src}, 0); err != nil {
		t.Fatal(err)
	}
	// Extract over a copy that has an older f.txt.
	os.WriteFile(filepath.Join(src, "a", "b", "f.txt"), []byte("old"), 0o640)
	if err := extractTar(&buf); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(src, "a", "b", "f.txt")); string(b) != "hello" {
		t.Errorf("f.txt = %q", b)
	}
	if fi, _ := os.Stat(filepath.Join(src, "run.sh")); fi.Mode().Perm() != 0o755 {
		t.Errorf("run.sh mode %v", fi.Mode())
	}
	if l, _ := os.Readlink(filepath.Join(src, "link")); l != "run.sh" {
		t.Errorf("link -> %q", l)
	}
	if err := writeTar(&bytes.Buffer{}, []string{src}, 3); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("limit: %v", err)
	}
	if err := writeTar(&bytes.Buffer{}, []string{"relative"}, 0); err == nil {
		t.Error("a relative path was accepted")
	}
	var out, errb bytes.Buffer
	if code := RunnerMain([]string{"fly"}, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown mode "fly"`) {
		t.Errorf("unknown mode: %d %s", code, errb.String())
	}
}

// TestRunnerRun: the run mode runs the step, writes the result file and
// the output files, and exits with the step's code.
func TestRunnerRun(t *testing.T) {
	dir := t.TempDir()
	spec, _ := json.Marshal(stepSpec{Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, Dir: dir,
		Env: []string{"PATH=" + os.Getenv("PATH")}, ProcDir: filepath.Join(dir, "procs"), Result: filepath.Join(dir, runnerFiles+"1")})
	var out, errb bytes.Buffer
	code := RunnerMain([]string{"run"}, bytes.NewReader(append(spec, '\n')), &out, &errb)
	if code != 3 || out.String() != "out\n" || errb.String() != "err\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	var r stepResult
	b, _ := os.ReadFile(filepath.Join(dir, runnerFiles+"1"))
	if err := json.Unmarshal(b, &r); err != nil || r.ExitCode != 3 {
		t.Errorf("result %s %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, runnerFiles+"1.out")); string(b) != "out\n" {
		t.Errorf("output file %q", b)
	}
	if code := RunnerMain([]string{"run"}, strings.NewReader("{not json\n"), &out, &errb); code != 2 {
		t.Errorf("bad spec: exit %d", code)
	}
}
