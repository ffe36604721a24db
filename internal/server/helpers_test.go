package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/notify"
	"github.com/shipgate/shipgate/internal/store"
)

const testSecret = "webhook-secret-for-tests"

// testUsers are created in every test server: name -> role. alice has the
// password "alice-password" for the dashboard.
var testUsers = [][2]string{{"root", RoleAdmin}, {"alice", RoleApprover}, {"carol", RoleApprover}, {"bob", RoleDeveloper}, {"vic", RoleViewer}}

// makeRepo copies testdata/app to a temp git repository.
func makeRepo(t *testing.T, root string) string {
	t.Helper()
	dst := filepath.Join(root, "app")
	err := filepath.WalkDir("testdata/app", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/app", p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dst
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dst
}

func writeConfig(t *testing.T, root, repo, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`max_concurrent: 2
teams:
  sre: [carol]
repositories:
  - name: acme/app
    path: %s
    webhook_secret: %s
    max_concurrent: 2
environments:
  production:
    reviewers: [alice, "team:sre"]
    prevent_self_review: true
    timeout: 10m
    branches: [main]
    checklist: [Release notes reviewed, Rollback verified]
%s`, repo, testSecret, extra)
	p := filepath.Join(root, "server.yml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testEnv is a server on a loopback test listener with its users' tokens.
type testEnv struct {
	t      *testing.T
	root   string
	db     *store.DB
	srv    *Server
	http   *httptest.Server
	tokens map[string]string
}

func newTestEnv(t *testing.T, extraConfig string, mods ...func(*Config)) *testEnv {
	t.Helper()
	root := t.TempDir()
	repo := makeRepo(t, root)
	cfg, err := LoadConfig(writeConfig(t, root, repo, extraConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		m(cfg)
	}
	db := openStore(t, root)
	e := &testEnv{t: t, root: root, db: db, tokens: map[string]string{}}
	e.tokens = seedUsers(t, db)
	e.srv, err = New(Options{Config: cfg, DB: db, StateDir: stateDir(root), Log: log.New(testWriter{t}, "server: ", 0), Poll: 100 * time.Millisecond,
		Notifier: &notify.Sender{Attempts: 2, Backoff: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewServer(e.srv.Handler())
	t.Cleanup(func() {
		e.http.Close()
		e.srv.Shutdown()
		db.Close()
	})
	return e
}

func seedUsers(t *testing.T, db *store.DB) map[string]string {
	st := store.NewServer(db)
	tokens := map[string]string{}
	for _, u := range testUsers {
		pw := ""
		if u[0] == "alice" {
			pw = "alice-password"
		}
		user, err := CreateUser(context.Background(), st, u[0], u[1], pw)
		if err != nil {
			t.Fatal(err)
		}
		tokens[u[0]], err = NewToken(context.Background(), st, user, "test")
		if err != nil {
			t.Fatal(err)
		}
	}
	return tokens
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// call sends an API request as user ("" for none) and returns the status and body.
func call(t *testing.T, base, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (e *testEnv) call(method, path, user string, body any) (int, []byte) {
	e.t.Helper()
	return call(e.t, e.http.URL, method, path, e.tokens[user], body)
}

// dispatch queues deploy.yml as user and returns the run number.
func dispatchRun(t *testing.T, base, token, workflow string, inputs map[string]string) int64 {
	t.Helper()
	code, b := call(t, base, "POST", "/api/dispatch", token, DispatchRequest{Workflow: workflow, Ref: "main", Inputs: inputs})
	if code != 202 {
		t.Fatalf("dispatch: %d %s", code, b)
	}
	var out struct{ Runs []int64 }
	json.Unmarshal(b, &out)
	if len(out.Runs) != 1 {
		t.Fatalf("dispatch queued %v", out.Runs)
	}
	return out.Runs[0]
}

// waitRun polls GET /api/runs/{id} until cond holds.
func waitRun(t *testing.T, base, token string, id int64, what string, cond func(*RunView) bool) *RunView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var v RunView
	for time.Now().Before(deadline) {
		code, b := call(t, base, "GET", fmt.Sprintf("/api/runs/%d", id), token, nil)
		if code == 200 {
			v = RunView{}
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if cond(&v) {
				return &v
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := json.MarshalIndent(v, "", " ")
	t.Fatalf("run %d: timed out waiting for %s; last state:\n%s", id, what, b)
	return nil
}

func waitingFor(env string) func(*RunView) bool {
	return func(v *RunView) bool {
		for _, a := range v.Approvals {
			if a.Environment == env && a.Status == store.ApprovalWaiting {
				return true
			}
		}
		return false
	}
}

func finished(v *RunView) bool { return finishedStatus(v.Status) }

func sign(body []byte) string { return notify.Sign(testSecret, body) }

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
