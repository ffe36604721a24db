package server

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/store"
)

// TestMain lets the test binary act as a server process of its own
// (SHIPGATE_TEST_SERVE=1), so the restart test can SIGKILL a real one.
func TestMain(m *testing.M) {
	if os.Getenv("SHIPGATE_TEST_SERVE") == "1" {
		serveChild()
		return
	}
	os.Exit(runBackends(m))
}

// serveChild runs a server on the store and config named in the
// environment and writes its address to SHIPGATE_TEST_ADDR_FILE.
func serveChild() {
	ctx := context.Background()
	cfg, err := LoadConfig(os.Getenv("SHIPGATE_TEST_CONFIG"))
	if err != nil {
		log.Fatal(err)
	}
	db, err := store.OpenURL(ctx, os.Getenv("SHIPGATE_TEST_DB"))
	if err != nil {
		log.Fatal(err)
	}
	lease, _ := time.ParseDuration(os.Getenv("SHIPGATE_TEST_LEASE"))
	srv, err := New(Options{Config: cfg, DB: db, Poll: 100 * time.Millisecond, StateDir: os.Getenv("SHIPGATE_TEST_STATE"),
		Replica: os.Getenv("SHIPGATE_TEST_REPLICA"), Lease: lease})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addrFile := os.Getenv("SHIPGATE_TEST_ADDR_FILE")
	os.WriteFile(addrFile+".tmp", []byte(ln.Addr().String()), 0o644)
	os.Rename(addrFile+".tmp", addrFile)
	log.Fatal(http.Serve(ln, srv.Handler()))
}

type child struct {
	cmd  *exec.Cmd
	base string
}

// startChild starts a server process on the test's store; env adds
// SHIPGATE_TEST_REPLICA / SHIPGATE_TEST_LEASE settings.
func startChild(t *testing.T, root, cfgPath string, env ...string) *child {
	t.Helper()
	addrFile := filepath.Join(root, "addr")
	for _, e := range env {
		if name, ok := strings.CutPrefix(e, "SHIPGATE_TEST_REPLICA="); ok {
			addrFile += "-" + name
		}
	}
	os.Remove(addrFile)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SHIPGATE_TEST_SERVE=1", "SHIPGATE_TEST_CONFIG="+cfgPath,
		"SHIPGATE_TEST_DB="+storeURL(t, root), "SHIPGATE_TEST_STATE="+stateDir(root), "SHIPGATE_TEST_ADDR_FILE="+addrFile)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(addrFile); err == nil {
			return &child{cmd: cmd, base: "http://" + string(b)}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the server process did not start")
	return nil
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// TestRestartDurability kills the server (SIGKILL) while one run waits for
// a production approval and another is in the middle of a step. After a
// restart the first resumes (its build is not run again) and can still be
// approved; the second is marked interrupted with its log up to the kill.
func TestRestartDurability(t *testing.T) {
	root := t.TempDir()
	repo := makeRepo(t, root)
	// max_attempts 1: a run whose job was cut off is not run again (the
	// replica test covers takeovers that do).
	cfgPath := writeConfig(t, root, repo, "max_attempts: 1\n")
	db := openStore(t, root)
	tokens := seedUsers(t, db)
	db.Close()

	first := startChild(t, root, cfgPath)
	waiting := dispatchRun(t, first.base, tokens["bob"], "deploy.yml", map[string]string{"lines": "2"})
	before := waitRun(t, first.base, tokens["vic"], waiting, "production approval request", waitingFor("production"))
	slow := dispatchRun(t, first.base, tokens["bob"], "slow.yml", nil)
	waitRun(t, first.base, tokens["vic"], slow, "the slow step to start", func(v *RunView) bool {
		return len(v.Jobs) == 1 && v.Jobs[0].Status == store.StatusRunning
	})
	time.Sleep(300 * time.Millisecond) // let it print its first line
	first.kill(t)

	second := startChild(t, root, cfgPath)
	// The interrupted run keeps its log up to the kill.
	v := waitRun(t, second.base, tokens["vic"], slow, "interrupted", finished)
	if v.Status != store.StatusInterrupted || v.Jobs[0].Status != store.StatusInterrupted {
		t.Fatalf("slow run after restart: %s, job %s", v.Status, v.Jobs[0].Status)
	}
	_, logs := call(t, second.base, "GET", fmt.Sprintf("/api/runs/%d/logs", slow), tokens["vic"], nil)
	if !strings.Contains(string(logs), "started sleeping") || strings.Contains(string(logs), "never printed") || !strings.Contains(string(logs), "server stopped") {
		t.Fatalf("interrupted run's log:\n%s", logs)
	}
	// The waiting run resumed, still waits, and the same request can be approved.
	after := waitRun(t, second.base, tokens["vic"], waiting, "the resumed run to wait again", func(v *RunView) bool {
		return waitingFor("production")(v) && v.Attempts == 2 && v.RunID != before.RunID
	})
	if len(after.Approvals) != 1 || after.Approvals[0].ID != before.Approvals[0].ID {
		t.Fatalf("approval requests before %+v, after %+v", before.Approvals, after.Approvals)
	}
	code, b := call(t, second.base, "POST", fmt.Sprintf("/api/runs/%d/approvals", waiting), tokens["alice"],
		DecideRequest{Environment: "production", Decision: "approve", Comment: "after restart", Checked: []string{"Release notes reviewed", "Rollback verified"}})
	if code != 200 {
		t.Fatalf("approve after restart: %d %s", code, b)
	}
	done := waitRun(t, second.base, tokens["vic"], waiting, "the run to finish", finished)
	if done.Status != store.StatusSuccess {
		t.Fatalf("resumed run ended %s: %s", done.Status, done.Message)
	}
	// build was reused, not run again: the resumed attempt has no build log.
	_, logs = call(t, second.base, "GET", fmt.Sprintf("/api/runs/%d/logs", waiting), tokens["vic"], nil)
	if strings.Contains(string(logs), "building part") || !strings.Contains(string(logs), "deploying to production") {
		t.Fatalf("resumed run's log:\n%s", logs)
	}
	// No orphan: the killed step's sleep was reaped by the restart.
	out, _ := exec.Command("pgrep", "-f", "sleep 30").Output()
	for _, pid := range strings.Fields(string(out)) {
		if b, err := os.ReadFile("/proc/" + pid + "/environ"); err == nil && strings.Contains(string(b), root) {
			t.Fatalf("the killed run's step (pid %s) is still running", pid)
		}
	}
}
