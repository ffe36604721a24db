package actions

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func env(t *testing.T) *Env {
	t.Helper()
	ws := t.TempDir()
	return &Env{Workspace: ws, StateDir: filepath.Join(ws, ".shipgate"), RunID: 1, Inputs: map[string]string{},
		Environ: map[string]string{"PATH": os.Getenv("PATH")}, Log: func(string, ...any) {}}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLookupUnknownNamesBuiltins(t *testing.T) {
	_, err := Lookup("some/unknown-action@v5")
	if err == nil || !strings.Contains(err.Error(), "some/unknown-action@v5") || !strings.Contains(err.Error(), "actions/checkout@*") {
		t.Fatalf("err = %v", err)
	}
	for _, ref := range []string{"actions/checkout@v4", "actions/upload-artifact@v3", "actions/cache@v4", "erlef/setup-beam@v1", "shipgate/coverage@v1"} {
		if _, err := Lookup(ref); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
}

func TestGateArgv(t *testing.T) {
	got := GateArgv("/bin/shipgate", "coverage", map[string]string{"command": "check", "args": `cover.out "a b"`, "min": "80", "fail-on-warning": "false"})
	want := []string{"/bin/shipgate", "coverage", "check", "cover.out", "a b", "--fail-on-warning=false", "--min=80"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
	// A command after "--" gets none of the gate's flags.
	got = GateArgv("/bin/shipgate", "tests", map[string]string{"command": "flaky", "args": "-- rebar3 eunit --module=x", "runs": "3"})
	want = []string{"/bin/shipgate", "tests", "flaky", "--runs=3", "--", "rebar3", "eunit", "--module=x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestArtifactsUploadDownload(t *testing.T) {
	ctx := context.Background()
	e := env(t)
	write(t, filepath.Join(e.Workspace, "dist/a.txt"), "a")
	write(t, filepath.Join(e.Workspace, "dist/sub/b.txt"), "bb")
	write(t, filepath.Join(e.Workspace, "dist/skip.log"), "x")
	e.Inputs = map[string]string{"name": "dist", "path": "dist/**/*.txt\n!dist/skip.log", "retention-days": "3"}
	if _, err := uploadArtifact(ctx, e); err != nil {
		t.Fatal(err)
	}
	e.Inputs = map[string]string{"name": "dist", "path": "out"}
	if _, err := downloadArtifact(ctx, e); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(e.Workspace, "out/sub/b.txt")); string(b) != "bb" {
		t.Errorf("downloaded b.txt = %q", b)
	}
	if _, err := os.Stat(filepath.Join(e.Workspace, "out/skip.log")); err == nil {
		t.Error("excluded file uploaded")
	}
	// Download all: each artifact in its own folder.
	e.Inputs = map[string]string{"path": "all"}
	downloadArtifact(ctx, e)
	if _, err := os.Stat(filepath.Join(e.Workspace, "all/dist/a.txt")); err != nil {
		t.Error(err)
	}
	e.Inputs = map[string]string{"name": "nope"}
	if _, err := downloadArtifact(ctx, e); err == nil || !strings.Contains(err.Error(), "have: dist") {
		t.Errorf("missing artifact: %v", err)
	}
	e.Inputs = map[string]string{"name": "empty", "path": "nothing/*", "if-no-files-found": "error"}
	if _, err := uploadArtifact(ctx, e); err == nil {
		t.Error("if-no-files-found: error did not fail")
	}
	e.Inputs = map[string]string{"name": "x", "path": "dist", "retention-days": "0"}
	if _, err := uploadArtifact(ctx, e); err == nil {
		t.Error("retention-days 0 accepted")
	}
}

func TestCacheSaveRestore(t *testing.T) {
	ctx := context.Background()
	e := env(t)
	write(t, filepath.Join(e.Workspace, "deps/x"), "cached")
	e.Inputs = map[string]string{"key": "deps-linux-abc", "path": "deps", "restore-keys": "deps-linux-"}
	r, err := cache(ctx, e)
	if err != nil || r.Outputs["cache-hit"] != "false" || r.Post == nil {
		t.Fatalf("first: %+v %v", r, err)
	}
	if err := r.Post(ctx, true); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(e.Workspace, "deps"))
	r, _ = cache(ctx, e)
	if r.Outputs["cache-hit"] != "true" || r.Post != nil {
		t.Fatalf("exact hit: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(e.Workspace, "deps/x")); string(b) != "cached" {
		t.Errorf("restored %q", b)
	}
	os.RemoveAll(filepath.Join(e.Workspace, "deps"))
	e.Inputs["key"] = "deps-linux-def"
	r, _ = cache(ctx, e)
	if r.Outputs["cache-hit"] != "false" {
		t.Errorf("prefix restore reported a hit")
	}
	if _, err := os.Stat(filepath.Join(e.Workspace, "deps/x")); err != nil {
		t.Error("restore-keys prefix did not restore")
	}
}

func TestVersionMatches(t *testing.T) {
	for _, c := range []struct {
		req, have string
		ok        bool
	}{
		{"1.26", "go1.26.8", true}, {"1.25", "go1.26.8", false}, {"1.26.x", "1.26.8", true},
		{"20", "v20.11.0", true}, {"18", "v20.11.0", false}, {">=3.10", "Python 3.12.1", true},
		{"^3.13", "3.12.1", false}, {"stable", "1.2", true}, {"26.2", "26.2.1", true}, {"26.2.1", "26.2", false},
	} {
		if got := VersionMatches(c.req, c.have); got != c.ok {
			t.Errorf("VersionMatches(%q, %q) = %v", c.req, c.have, got)
		}
	}
}

func TestSetupShims(t *testing.T) {
	ctx := context.Background()
	e := env(t)
	e.Inputs = map[string]string{"go-version": "1.26"}
	r, err := setupGo(ctx, e)
	if err != nil || !strings.HasPrefix(r.Outputs["go-version"], "1.26") || len(r.Path) != 1 {
		t.Fatalf("setup-go: %+v %v", r, err)
	}
	e.Inputs = map[string]string{"go-version": "1.9"}
	if _, err := setupGo(ctx, e); err == nil || !strings.Contains(err.Error(), "1.9") {
		t.Errorf("setup-go 1.9: %v", err)
	}
	e.Environ["PATH"] = t.TempDir()
	e.Inputs = map[string]string{"otp-version": "26"}
	if _, err := setupBeam(ctx, e); err == nil || !strings.Contains(err.Error(), "erl") {
		t.Errorf("setup-beam without erl: %v", err)
	}
	e.Inputs = map[string]string{"node-version": "20"}
	if _, err := setupNode(ctx, e); err == nil || !strings.Contains(err.Error(), "node") {
		t.Errorf("setup-node without node on PATH: %v", err)
	}
}

func TestCheckoutWorktree(t *testing.T) {
	ctx := context.Background()
	e := env(t)
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = e.Workspace
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %s", args, out)
		}
	}
	run("init", "-q", "-b", "main")
	write(t, filepath.Join(e.Workspace, "f"), "one")
	run("add", "f")
	run("commit", "-qm", "one")
	run("tag", "v1")
	write(t, filepath.Join(e.Workspace, "f"), "two")
	run("commit", "-qam", "two")
	r, err := checkout(ctx, e)
	if err != nil || len(r.Outputs["commit"]) != 40 {
		t.Fatalf("plain checkout: %+v %v", r, err)
	}
	e.Inputs = map[string]string{"path": "old", "ref": "v1"}
	if _, err := checkout(ctx, e); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(e.Workspace, "old/f")); string(b) != "one" {
		t.Errorf("worktree file = %q", b)
	}
	e.Inputs = map[string]string{"ref": "v1"}
	if _, err := checkout(ctx, e); err == nil || !strings.Contains(err.Error(), "path") {
		t.Errorf("ref without path: %v", err)
	}
	e.Inputs = map[string]string{"repository": "someone/else"}
	if _, err := checkout(ctx, e); err == nil {
		t.Error("foreign repository accepted")
	}
	_ = fmt.Sprint
}
