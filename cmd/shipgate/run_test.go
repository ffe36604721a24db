package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repo makes a workspace with .github/workflows/ci.yml holding src.
func repo(t *testing.T, src string) (ws, wf string) {
	t.Helper()
	ws = t.TempDir()
	wf = filepath.Join(ws, ".github", "workflows", "ci.yml")
	os.MkdirAll(filepath.Dir(wf), 0o755)
	if err := os.WriteFile(wf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return ws, wf
}

const twoJobs = `name: ci
on: [push, workflow_dispatch]
jobs:
  build:
    runs-on: ubuntu-latest
    outputs: {v: "${{ steps.s.outputs.v }}"}
    steps:
      - id: s
        run: echo "v=42" >> $GITHUB_OUTPUT && echo "building with ${{ secrets.TOKEN }}"
  test:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: test "${{ needs.build.outputs.v }}" = 42 && test -f "$GITHUB_WORKSPACE/pass"
`

func TestRunBadInputExits2(t *testing.T) {
	ws, wf := repo(t, twoJobs)
	store := filepath.Join(ws, "store")
	os.WriteFile(filepath.Join(ws, "bad.json"), []byte("{\n  \"ref\": \"refs/heads/x\",\n  oops\n}"), 0o644)
	os.WriteFile(filepath.Join(ws, "file"), nil, 0o644)
	bad, _ := repo(t, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: nope\n    steps: [{run: 'true'}]\n")
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown job", []string{"run", "-W", wf, "--store", store, "-j", "deploy"}, []string{`no job "deploy"`, "jobs: build, test"}},
		{"malformed event file", []string{"run", "-W", wf, "--store", store, "--eventpath", filepath.Join(ws, "bad.json")}, []string{"bad.json is not valid JSON", "line 3"}},
		{"missing event file", []string{"run", "-W", wf, "--store", store, "--eventpath", filepath.Join(ws, "none.json")}, []string{"none.json"}},
		{"missing secret file", []string{"run", "-W", wf, "--store", store, "--secret-file", filepath.Join(ws, ".secrets")}, []string{"--secret-file", ".secrets", "no such file"}},
		{"unwritable store", []string{"run", "-W", wf, "--store", filepath.Join(ws, "file", ".shipgate")}, []string{"not writable", "file/.shipgate"}},
		{"bad secret flag", []string{"run", "-W", wf, "--store", store, "--secret", "NOT_IN_ENV_XYZ"}, []string{"NOT_IN_ENV_XYZ"}},
		{"bad matrix flag", []string{"run", "-W", wf, "--store", store, "--matrix", "nocolon"}, []string{"KEY:VALUE"}},
		{"workflow with errors", []string{"run", "-W", filepath.Join(bad, ".github", "workflows", "ci.yml"), "--store", store}, []string{`"nope"`, "cannot run"}},
		{"undeclared input", []string{"run", "-W", wf, "--store", store, "--event", "workflow_dispatch", "--input", "x=1"}, []string{`input "x" is not declared`}},
		{"event not in on:", []string{"run", "-W", wf, "--store", store, "--event", "release"}, []string{`does not run on "release"`}},
		{"no such run", []string{"logs", "999", "--store", store}, []string{"no run 999"}},
		{"bad run id", []string{"runs", "show", "abc", "--store", store}, []string{`run ID "abc"`}},
	} {
		_, stderr, code := run(t, c.args...)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", c.name, code, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr does not say %q:\n%s", c.name, w, stderr)
			}
		}
	}
	// The default store: .shipgate/ in the repository, here a regular file.
	os.WriteFile(filepath.Join(ws, ".shipgate"), nil, 0o644)
	_, stderr, code := run(t, "run", "-W", wf)
	if code != 2 || !strings.Contains(stderr, ".shipgate is not writable") {
		t.Errorf("unwritable default .shipgate: exit %d\n%s", code, stderr)
	}
}

func TestRunRecordRerunAndGC(t *testing.T) {
	ws, wf := repo(t, twoJobs)
	store := filepath.Join(ws, ".shipgate")
	os.WriteFile(filepath.Join(ws, ".secrets"), []byte("TOKEN=hunter2-secret\n"), 0o644)
	// First run: test fails (no pass file).
	stdout, stderr, code := run(t, "run", "-W", wf, "--plain", "--secret-file", filepath.Join(ws, ".secrets"))
	if code != 1 {
		t.Fatalf("first run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "hunter2-secret") || !strings.Contains(stdout, "[build] building with ***") {
		t.Errorf("secret not masked:\n%s", stdout)
	}
	for _, w := range []string{"JOB", "build", "✓ success", "test", "✗ failure", "run 1: failure"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary lacks %q:\n%s", w, stdout)
		}
	}
	// Rerun only the failed job: build is reused with its outputs.
	os.WriteFile(filepath.Join(ws, "pass"), nil, 0o644)
	stdout, stderr, code = run(t, "rerun", "1", "--failed", "--plain", "--store", store)
	if code != 0 || !strings.Contains(stdout, "success (reused)") || strings.Contains(stdout, "[build] ▶") {
		t.Fatalf("rerun --failed: exit %d\n%s\n%s", code, stdout, stderr)
	}
	out, _, code := run(t, "runs", "--json", "--store", store)
	var runs []map[string]any
	if err := json.Unmarshal([]byte(out), &runs); err != nil || code != 0 || len(runs) != 2 {
		t.Fatalf("runs --json: %v %d\n%s", err, code, out)
	}
	if runs[0]["status"] != "success" || runs[0]["rerun_of"] != 1.0 || runs[1]["status"] != "failure" {
		t.Errorf("runs: %v", runs)
	}
	out, _, _ = run(t, "runs", "show", "1", "--json", "--store", store)
	var d struct {
		Jobs []struct {
			Name, Status string
			Outputs      map[string]string
			Steps        []struct{ Outcome string }
		}
	}
	json.Unmarshal([]byte(out), &d)
	if len(d.Jobs) != 2 || d.Jobs[0].Outputs["v"] != "42" || d.Jobs[1].Status != "failure" || d.Jobs[1].Steps[0].Outcome != "failure" {
		t.Errorf("runs show: %s", out)
	}
	out, _, code = run(t, "logs", "1", "-j", "build", "--store", store)
	if code != 0 || !strings.Contains(out, "building with ***") || strings.Contains(out, "hunter2") {
		t.Errorf("logs: %d\n%s", code, out)
	}
	b, _ := os.ReadFile(filepath.Join(store, "shipgate.db"))
	w, _ := os.ReadFile(filepath.Join(store, "shipgate.db-wal"))
	if strings.Contains(string(b)+string(w), "hunter2-secret") {
		t.Error("the secret value is in the store")
	}
	out, _, code = run(t, "gc", "--keep", "1", "--json", "--store", store)
	if code != 0 || !strings.Contains(out, `"runs_deleted": [`) || !strings.Contains(out, "1\n") {
		t.Errorf("gc: %d %s", code, out)
	}
	out, _, _ = run(t, "runs", "--json", "--store", store)
	if strings.Count(out, `"id"`) != 1 {
		t.Errorf("after gc --keep 1: %s", out)
	}
}

func TestRunJSONEvents(t *testing.T) {
	ws, wf := repo(t, twoJobs)
	os.WriteFile(filepath.Join(ws, "pass"), nil, 0o644)
	out, _, code := run(t, "run", "-W", wf, "--json", "-j", "build")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	types := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		types[e["type"].(string)]++
	}
	if types["run_started"] != 1 || types["job_finished"] != 1 || types["run_finished"] != 1 || types["log"] == 0 {
		t.Errorf("event types %v", types)
	}
}

// TestHelperShipgateMain is not a test: the SIGKILL test runs the test
// binary as shipgate through it.
func TestHelperShipgateMain(t *testing.T) {
	args := os.Getenv("SHIPGATE_HELPER_ARGS")
	if args == "" {
		return
	}
	os.Exit(Main(strings.Split(args, "\x1f"), os.Stdin, os.Stdout, os.Stderr))
}

// A run killed with SIGKILL leaves a readable store; the next command marks
// it interrupted, and its step processes are gone.
func TestSIGKILLedRunIsInterrupted(t *testing.T) {
	ws, wf := repo(t, "on: push\njobs:\n  slow:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo started; sleep 67 & sleep 67\n")
	store := filepath.Join(ws, ".shipgate")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperShipgateMain$")
	cmd.Env = append(os.Environ(), "SHIPGATE_HELPER_ARGS="+strings.Join([]string{"run", "-W", wf, "--plain", "--store", store}, "\x1f"))
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	seen := ""
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(seen, "[slow] started") && time.Now().Before(deadline) {
		n, err := out.Read(buf)
		seen += string(buf[:n])
		if err != nil {
			break
		}
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	stdout, stderr, code := run(t, "runs", "--json", "--store", store)
	if code != 0 || !strings.Contains(stderr, "run 1 was interrupted") || !strings.Contains(stdout, `"status": "interrupted"`) {
		t.Fatalf("after SIGKILL: exit %d\nstdout %s\nstderr %s\nrun output %s", code, stdout, stderr, seen)
	}
	stdout, _, _ = run(t, "runs", "show", "1", "--json", "--store", store)
	if !strings.Contains(stdout, `"status": "interrupted"`) {
		t.Errorf("job not interrupted: %s", stdout)
	}
	if n := countProcs("sleep 67"); n != 0 {
		t.Errorf("%d `sleep 67` processes of the killed run are still alive", n)
	}
}

func countProcs(cmdline string) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ") == cmdline && !strings.Contains(string(st), ") Z ") {
			n++
		}
	}
	return n
}

func TestRunFlagsDryRunVarsMatrixVerbose(t *testing.T) {
	_, wf := repo(t, `name: flags
on: push
jobs:
  test:
    strategy:
      matrix: {go: ["1.21", "1.22"], os: [linux]}
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "go ${{ matrix.go }} level ${{ vars.LEVEL }}"
          echo "::debug::a debug line"
          echo "::group::Details"
          echo "inside"
          echo "::endgroup::"
          echo "::warning file=main.go,line=7,col=2::check this"
          echo "## Report ${{ matrix.go }}" >> $GITHUB_STEP_SUMMARY
`)
	out, _, code := run(t, "run", "-W", wf, "--plain", "--var", "LEVEL=3", "--matrix", "go:1.22", "--verbose")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, w := range []string{"[test (1.22, linux)] go 1.22 level 3", "##[debug]a debug line", "##[group]Details", "Warning: check this (main.go:7:2)", "## Report 1.22"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "1.21") {
		t.Errorf("--matrix go:1.22 ran the 1.21 leg:\n%s", out)
	}
	out, _, code = run(t, "run", "-W", wf, "--plain", "--dry-run")
	if code != 0 || strings.Contains(out, ")] go 1.2") || !strings.Contains(out, "dry run") {
		t.Errorf("--dry-run executed steps or failed (%d):\n%s", code, out)
	}
	out, _, _ = run(t, "run", "-W", wf, "--plain")
	if strings.Contains(out, "a debug line") {
		t.Errorf("debug shown without --verbose:\n%s", out)
	}
}

// Ctrl-C (SIGINT) cancels the run cleanly: the running step's processes
// are killed, the always() step runs, the run is recorded cancelled, exit 1.
func TestCtrlCCancelsRun(t *testing.T) {
	ws, wf := repo(t, "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo started; sleep 71 & sleep 71\n      - if: always()\n        run: echo cleanup-ran\n")
	store := filepath.Join(ws, ".shipgate")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperShipgateMain$")
	cmd.Env = append(os.Environ(), "SHIPGATE_HELPER_ARGS="+strings.Join([]string{"run", "-W", wf, "--plain", "--store", store, "--grace", "500ms"}, "\x1f"))
	var outb, errb strings.Builder
	pr, pw, _ := os.Pipe()
	cmd.Stdout, cmd.Stderr = pw, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	buf := make([]byte, 4096)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(outb.String(), "[j] started\n") && time.Now().Before(deadline) {
		n, err := pr.Read(buf)
		outb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	for {
		n, err := pr.Read(buf)
		outb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	out := outb.String()
	if code != 1 || !strings.Contains(errb.String(), "cancelling the run") || !strings.Contains(out, "cleanup-ran") || !strings.Contains(out, "run 1: cancelled") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errb.String())
	}
	if n := countProcs("sleep 71"); n != 0 {
		t.Errorf("%d processes of the cancelled step are alive", n)
	}
}

// The github context comes from the local repository (here: the one the
// test runs in) and the default variables match it.
func TestRunGitHubContextFromGit(t *testing.T) {
	wd, _ := os.Getwd()
	sha, err := exec.Command("git", "-C", wd, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git: %v", err)
	}
	_, wf := repo(t, `on: [push, pull_request]
jobs:
  ctx:
    runs-on: ubuntu-latest
    steps:
      - run: |
          test "${{ github.sha }}" = "`+strings.TrimSpace(string(sha))+`"
          test "$GITHUB_SHA" = "${{ github.sha }}"
          test -n "${{ github.event.head_commit.message }}" && test -n "${{ github.actor }}"
          test "$GITHUB_EVENT_NAME" = push && test "$GITHUB_REF" = "${{ github.ref }}"
          test -n "$GITHUB_RUN_ID" && test "$RUNNER_OS" = Linux && test -f "$GITHUB_EVENT_PATH"
`)
	out, stderr, code := run(t, "run", "-W", wf, "--plain")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	ev := filepath.Join(t.TempDir(), "pr.json")
	os.WriteFile(ev, []byte(`{"number": 7, "pull_request": {"head": {"ref": "feature", "sha": "abc"}, "base": {"ref": "main"}}}`), 0o644)
	_, wf2 := repo(t, "on: pull_request\njobs:\n  pr:\n    runs-on: ubuntu-latest\n    steps:\n      - run: test \"${{ github.head_ref }}/${{ github.base_ref }}/${{ github.event.number }}\" = feature/main/7 && test \"$GITHUB_HEAD_REF\" = feature\n")
	out, stderr, code = run(t, "run", "-W", wf2, "--plain", "--event", "pull_request", "--eventpath", ev)
	if code != 0 {
		t.Fatalf("pull_request: exit %d\n%s\n%s", code, out, stderr)
	}
}
