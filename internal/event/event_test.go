package event

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"-c", "user.name=Ada", "-c", "user.email=ada@example.com", "commit", "-q", "--allow-empty", "-m", "feat: first\n\nbody line"},
		{"remote", "add", "origin", "git@github.com:acme/widget.git"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func TestGitHubContextFromGit(t *testing.T) {
	dir := gitRepo(t)
	ev, err := Load(Options{Name: "push", Workspace: dir})
	if err != nil {
		t.Fatal(err)
	}
	g := ev.GitHub
	if g["ref"] != "refs/heads/main" || g["ref_name"] != "main" || g["ref_type"] != "branch" || g["repository"] != "acme/widget" || g["repository_owner"] != "acme" {
		t.Fatalf("github context: %v", g)
	}
	if len(g["sha"].(string)) != 40 || g["actor"] != "Ada" {
		t.Fatalf("sha/actor: %v %v", g["sha"], g["actor"])
	}
	hc := g["event"].(map[string]any)["head_commit"].(map[string]any)
	if hc["message"] != "feat: first\n\nbody line" || hc["author"].(map[string]any)["email"] != "ada@example.com" {
		t.Fatalf("head_commit: %v", hc)
	}
	if ev.Plan.Ref != "refs/heads/main" {
		t.Fatalf("plan ref %q", ev.Plan.Ref)
	}
}

func TestEventFileAndErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "pr.json")
	os.WriteFile(good, []byte(`{"action":"opened","number":7,"pull_request":{"head":{"ref":"feat","sha":"abc"},"base":{"ref":"main"}}}`), 0o644)
	ev, err := Load(Options{Name: "pull_request", EventPath: good, Workspace: dir})
	if err != nil {
		t.Fatal(err)
	}
	if ev.GitHub["head_ref"] != "feat" || ev.GitHub["base_ref"] != "main" || ev.GitHub["ref"] != "refs/pull/7/merge" || ev.Plan.Ref != "refs/heads/main" || ev.Plan.Action != "opened" {
		t.Fatalf("pull_request context: %v / %+v", ev.GitHub, ev.Plan)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{\n  \"a\": ,\n}"), 0o644)
	if _, err := Load(Options{EventPath: bad, Workspace: dir}); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("malformed event: %v", err)
	}
	if _, err := Load(Options{EventPath: filepath.Join(dir, "nope.json"), Workspace: dir}); err == nil {
		t.Fatal("missing event file: want an error")
	}
}

func TestRepoFromRemote(t *testing.T) {
	for in, want := range map[string]string{
		"git@github.com:o/r.git":       "o/r",
		"https://github.com/o/r":       "o/r",
		"ssh://git@host:22/team/x.git": "team/x",
		"":                             "",
	} {
		if got := repoFromRemote(in); got != want {
			t.Errorf("repoFromRemote(%q) = %q, want %q", in, got, want)
		}
	}
}
