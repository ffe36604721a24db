package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The local provider starts `shipgate deploy supervise` detached; in tests
// the test binary plays shipgate when SHIPGATE_TEST_MAIN is set.
func init() {
	if os.Getenv("SHIPGATE_TEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
}

func TestDeployCLIDetachedSupervisorOutlivesTheCommand(t *testing.T) {
	t.Setenv("SHIPGATE_TEST_MAIN", "1")
	dir := t.TempDir()
	svc := filepath.Join(dir, "svc")
	if out, err := exec.Command("go", "build", "-o", svc, "../../internal/deploy/testdata/svc").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	st := filepath.Join(dir, "store")
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(append(args, "--store", st), nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	t.Cleanup(func() { run("deploy", "stop", "staging") })

	code, out, errs := run("deploy", "staging", "--version", "1.0.0", "--command", svc, "--commit", "")
	if code != 0 || !strings.Contains(out, "staging 1.0.0: SUCCEEDED") {
		t.Fatalf("deploy: %d\n%s\n%s", code, out, errs)
	}
	// The command has returned; the supervisor keeps serving.
	code, out, _ = run("deploy", "status", "staging", "--json")
	var status struct {
		URL     string `json:"url"`
		Running bool   `json:"running"`
		Stable  struct {
			Version  string `json:"version"`
			Replicas []struct {
				PID     int  `json:"pid"`
				Healthy bool `json:"healthy"`
			} `json:"replicas"`
		} `json:"stable"`
	}
	if err := json.Unmarshal([]byte(out), &status); err != nil || code != 0 {
		t.Fatalf("status: %d %v\n%s", code, err, out)
	}
	if !status.Running || status.Stable.Version != "1.0.0" || len(status.Stable.Replicas) != 2 {
		t.Fatalf("status %+v", status)
	}
	get := func() string {
		resp, err := http.Get(status.URL + "/")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b))
	}
	if got := get(); got != "1.0.0" {
		t.Fatalf("served %q", got)
	}
	// A crashed replica is restarted.
	if err := syscallKill(status.Stable.Replicas[0].PID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, out, _ = run("deploy", "status", "staging")
		if strings.Contains(out, "2/2 ready") && strings.Contains(out, "restarts 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica not restarted:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A second version, by hand rollback, history, dora.
	if code, out, errs = run("deploy", "staging", "--version", "1.1.0", "--command", svc, "--steps", "50,100", "--pause", "100ms"); code != 0 {
		t.Fatalf("deploy 1.1.0: %d\n%s\n%s", code, out, errs)
	}
	if got := get(); got != "1.1.0" {
		t.Fatalf("served %q after promotion", got)
	}
	if code, out, _ = run("deploy", "rollback", "staging"); code != 0 || !strings.Contains(out, "rolled back, 1.0.0 serving") {
		t.Fatalf("rollback: %d %s", code, out)
	}
	if got := get(); got != "1.0.0" {
		t.Fatalf("served %q after rollback", got)
	}
	_, out, _ = run("deploy", "history", "--json")
	var hist []struct {
		Version, Result, Reason string
	}
	if err := json.Unmarshal([]byte(out), &hist); err != nil || len(hist) != 2 || hist[1].Result != "failed" || hist[1].Reason != "rolled back by hand" {
		t.Fatalf("history %v %+v\n%s", err, hist, out)
	}
	if code, out, _ = run("dora", "--env", "staging", "--json"); code != 0 || !strings.Contains(out, `"changeFailureRate": 0.5`) {
		t.Fatalf("dora: %d %s", code, out)
	}
	// Bad usage exits 2.
	for _, args := range [][]string{
		{"deploy", "staging"},
		{"deploy", "staging", "--version", "2", "--steps", "50,10"},
		{"deploy", "staging", "--version", "2", "--provider", "cloud"},
		{"deploy", "staging", "--version", "2", "--analysis", filepath.Join(dir, "missing.yml"), "--prometheus", "http://127.0.0.1:1"},
		{"dora", "--since", "yesterday"},
	} {
		if code, _, errs := run(args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	// Stopped: status still knows what ran, and says nothing serves.
	run("deploy", "stop", "staging")
	_, out, _ = run("deploy", "status", "staging")
	if !strings.Contains(out, "stable") || !strings.Contains(out, "1.0.0") || !strings.Contains(out, "is not running") {
		t.Fatalf("status after stop:\n%s", out)
	}
}
