package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/pgtest"
	"github.com/shipgate/shipgate/internal/server"
	"github.com/shipgate/shipgate/internal/store"
)

// serverRepo is a git repository with a build and a production deploy.
func serverRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	wf := filepath.Join(dir, ".github", "workflows", "deploy.yml")
	os.MkdirAll(filepath.Dir(wf), 0o755)
	os.WriteFile(wf, []byte(`name: deploy
on:
  workflow_dispatch:
    inputs:
      version: {required: true}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "built ${{ github.event.inputs.version }}"
  deploy:
    needs: build
    environment: production
    runs-on: ubuntu-latest
    steps:
      - run: echo deployed
`), 0o644)
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "init"}} {
		c := exec.Command("git", args...)
		c.Dir = dir
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %s", args, out)
		}
	}
	return dir
}

func TestServerCommands(t *testing.T) {
	root := t.TempDir()
	// A relative --db (as the default is): step files must still be found
	// from the repository the steps run in.
	wd, _ := os.Getwd()
	os.Chdir(root)
	defer os.Chdir(wd)
	db := "sqlite:state/server.db"
	// users: add (prints a token once), a bad role is exit 2, list --json.
	code, rootTok, errs := runCLI(t, "", "users", "add", "root", "--role", "admin", "--db", db)
	if code != 0 || !strings.HasPrefix(rootTok, "sgt_") || !strings.Contains(errs, "shown once") {
		t.Fatalf("users add: %d %q %q", code, rootTok, errs)
	}
	_, aliceTok, _ := runCLI(t, "", "users", "add", "alice", "--role", "approver", "--db", db)
	_, bobTok, _ := runCLI(t, "", "users", "add", "bob", "--role", "developer", "--db", db)
	if code, _, errs := runCLI(t, "", "users", "add", "mallory", "--role", "king", "--db", db); code != 2 || !strings.Contains(errs, `role "king"`) {
		t.Fatalf("bad role: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "users", "add", "alice", "--db", db); code != 2 || !strings.Contains(errs, "duplicate") {
		t.Fatalf("duplicate user: %d %s", code, errs)
	}
	code, out, _ := runCLI(t, "", "users", "list", "--json", "--db", db)
	var users []store.User
	if code != 0 || json.Unmarshal([]byte(out), &users) != nil || len(users) != 3 || users[0].Name != "alice" {
		t.Fatalf("users list: %d %s", code, out)
	}
	if code, tok, _ := runCLI(t, "", "users", "token", "bob", "--name", "ci", "--db", db); code != 0 || !strings.HasPrefix(tok, "sgt_") {
		t.Fatalf("users token: %d", code)
	}
	// serve: bad inputs exit 2 before listening.
	if code, _, errs := runCLI(t, "", "serve", "--config", filepath.Join(root, "missing.yml"), "--db", db); code != 2 || !strings.Contains(errs, "missing.yml") {
		t.Fatalf("serve without config: %d %s", code, errs)
	}
	cfgPath := filepath.Join(root, "server.yml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("repositories:\n  - name: acme/app\n    path: %s\nenvironments:\n  production:\n    reviewers: [alice]\n    checklist: [Rollback verified]\n", serverRepo(t))), 0o644)
	if code, _, errs := runCLI(t, "", "serve", "--config", cfgPath, "--db", "postgres://nobody@127.0.0.1:1/x"); code != 2 || !strings.Contains(errs, "127.0.0.1") {
		t.Fatalf("serve on an unreachable postgres: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "serve", "--config", cfgPath, "--db", "mysql://x"); code != 2 || !strings.Contains(errs, "postgres://") {
		t.Fatalf("serve on mysql: %d %s", code, errs)
	}
	os.WriteFile(filepath.Join(root, "typo.yml"), []byte("max_concurent: 3\n"), 0o644)
	if code, _, errs := runCLI(t, "", "serve", "--config", filepath.Join(root, "typo.yml"), "--db", db); code != 2 || !strings.Contains(errs, "max_concurent") {
		t.Fatalf("serve with a typo: %d %s", code, errs)
	}

	// A server on the same store; dispatch and approve through the CLI.
	cfg, err := server.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := openServerDB(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	srv, err := server.New(server.Options{Config: cfg, DB: sdb, Poll: 100 * time.Millisecond, StateDir: serverStateDir(sdb, "")})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start(context.Background())
	defer srv.Shutdown()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	t.Setenv("SHIPGATE_SERVER", hs.URL)
	t.Setenv("SHIPGATE_TOKEN", "")
	if code, _, errs := runCLI(t, "", "dispatch", "deploy.yml"); code != 2 || !strings.Contains(errs, "no API token") {
		t.Fatalf("dispatch without a token: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "dispatch", "nope.yml", "--token", strings.TrimSpace(bobTok)); code != 2 || !strings.Contains(errs, `no workflow "nope.yml"`) {
		t.Fatalf("dispatch unknown workflow: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "dispatch", "deploy.yml", "--input", "color=red", "--token", strings.TrimSpace(bobTok)); code != 2 || !strings.Contains(errs, `"color" is not declared`) {
		t.Fatalf("dispatch with an undeclared input: %d %s", code, errs)
	}
	code, out, errs = runCLI(t, "", "dispatch", "deploy.yml", "--ref", "main", "--input", "version=1.2.3", "--json", "--token", strings.TrimSpace(bobTok))
	var queued struct{ Runs []int64 }
	if code != 0 || json.Unmarshal([]byte(out), &queued) != nil || len(queued.Runs) != 1 {
		t.Fatalf("dispatch: %d %s %s", code, out, errs)
	}
	id := fmt.Sprint(queued.Runs[0])
	// Wait until the deploy job asks for approval.
	st := store.NewServer(sdb)
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, _ := st.Approvals(context.Background(), queued.Runs[0], store.ApprovalWaiting)
		if len(list) == 1 {
			break
		}
		if time.Now().After(deadline) {
			it, _ := st.Item(context.Background(), queued.Runs[0])
			t.Fatalf("no approval request; run %+v", it)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// bob (developer) is refused: exit 1; alice without the checklist: exit 2.
	if code, _, errs := runCLI(t, "", "approve", id, "--env", "production", "--token", strings.TrimSpace(bobTok)); code != 1 || !strings.Contains(errs, "403") {
		t.Fatalf("developer approve: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "approve", id, "--env", "production", "--token", strings.TrimSpace(aliceTok)); code != 2 || !strings.Contains(errs, "Rollback verified") {
		t.Fatalf("approve without checklist: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "approve", "x", "--env", "production"); code != 2 || !strings.Contains(errs, "run number") {
		t.Fatalf("approve bad run: %d %s", code, errs)
	}
	code, out, errs = runCLI(t, "", "approve", id, "--env", "production", "--check-all", "--comment", "ok", "--token", strings.TrimSpace(aliceTok))
	if code != 0 || !strings.Contains(out, "production approved by alice") {
		t.Fatalf("approve: %d %s %s", code, out, errs)
	}
	for {
		it, _ := st.Item(context.Background(), queued.Runs[0])
		if it.Status == store.StatusSuccess {
			break
		}
		if time.Now().After(deadline) || it.Status == store.StatusFailure {
			t.Fatalf("run ended %s: %s", it.Status, it.Message)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = rootTok
}

// TestServerCommandsOnPostgres: the user commands and the server's store
// on a real PostgreSQL (the server's own suite runs on both stores).
func TestServerCommandsOnPostgres(t *testing.T) {
	url := pgtest.NewDB(t)
	code, tok, errs := runCLI(t, "", "users", "add", "root", "--role", "admin", "--db", url)
	if code != 0 || !strings.HasPrefix(tok, "sgt_") {
		t.Fatalf("users add: %d %q %q", code, tok, errs)
	}
	if code, _, errs := runCLI(t, "", "users", "add", "root", "--db", url); code != 2 || !strings.Contains(errs, "duplicate") {
		t.Fatalf("duplicate user: %d %s", code, errs)
	}
	code, out, _ := runCLI(t, "", "users", "list", "--json", "--db", url)
	var users []store.User
	if code != 0 || json.Unmarshal([]byte(out), &users) != nil || len(users) != 1 || users[0].Role != "admin" {
		t.Fatalf("users list: %d %s", code, out)
	}
	db, err := openServerDB(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !db.Postgres() || serverStateDir(db, "") != filepath.Join(".shipgate", "server") || serverStateDir(db, "/srv/x") != "/srv/x" {
		t.Fatalf("postgres=%v state=%s", db.Postgres(), serverStateDir(db, ""))
	}
}
