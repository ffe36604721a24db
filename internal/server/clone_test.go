package server

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/store"
)

func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestRepositoryByCloneURL: a repository configured by url: is cloned
// into the state folder; a push delivery for a commit pushed after the
// server started runs at that commit, in a worktree removed afterwards,
// and what the run records in .shipgate stays with the repository.
func TestRepositoryByCloneURL(t *testing.T) {
	root := t.TempDir()
	// The "remote": a bare repository, fed from a developer's clone.
	dev := filepath.Join(root, "dev")
	os.MkdirAll(filepath.Join(dev, ".github", "workflows"), 0o755)
	os.WriteFile(filepath.Join(dev, ".github", "workflows", "ci.yml"), []byte(`name: ci
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "version $(cat version.txt) at $(git rev-parse HEAD)"
          echo "$GITHUB_SHA" >> .shipgate/built.txt
`), 0o644)
	os.WriteFile(filepath.Join(dev, "version.txt"), []byte("1\n"), 0o644)
	gitT(t, dev, "init", "-q", "-b", "main")
	gitT(t, dev, "add", "-A")
	gitT(t, dev, "commit", "-qm", "v1")
	bare := filepath.Join(root, "app.git")
	gitT(t, root, "clone", "-q", "--bare", dev, bare)
	gitT(t, dev, "remote", "add", "origin", bare)

	e := newTestEnv(t, "", func(c *Config) {
		c.Repositories = append(c.Repositories, &Repo{Name: "acme/remote", URL: "file://" + bare, WebhookSecret: testSecret, MaxConcurrent: 1},
			&Repo{Name: "acme/gone", URL: "file://" + filepath.Join(root, "missing.git"), WebhookSecret: testSecret, MaxConcurrent: 1})
	})
	// A commit pushed after the server started.
	os.WriteFile(filepath.Join(dev, "version.txt"), []byte("2\n"), 0o644)
	gitT(t, dev, "commit", "-qam", "v2")
	gitT(t, dev, "push", "-q", "origin", "main")
	sha := gitT(t, dev, "rev-parse", "HEAD")

	body, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "after": sha,
		"repository": map[string]any{"full_name": "acme/remote"}, "sender": map[string]any{"login": "bob"}})
	code, b := postHook(t, e.http.URL, body, map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "remote-1", "X-Hub-Signature-256": sign(body)})
	if code != 202 {
		t.Fatalf("push: %d %s", code, b)
	}
	var items []store.QueueItem
	waitFor(t, "the run to be queued", func() bool {
		_, b := e.call("GET", "/api/runs?repo=acme/remote", "vic", nil)
		json.Unmarshal(b, &items)
		return len(items) == 1
	})
	v := waitRun(t, e.http.URL, e.tokens["vic"], items[0].ID, "finished", finished)
	if v.Status != store.StatusSuccess || items[0].SHA != sha {
		t.Fatalf("run: %s (%s), queued at %s, want %s", v.Status, v.Message, items[0].SHA, sha)
	}
	_, logs := e.call("GET", fmt.Sprintf("/api/runs/%d/logs", items[0].ID), "vic", nil)
	if !strings.Contains(string(logs), "version 2 at "+sha) {
		t.Fatalf("the run did not see the pushed commit:\n%s", logs)
	}
	clone := clonePath(stateDir(e.root), "acme/remote")
	if b, err := os.ReadFile(filepath.Join(clone, ".shipgate", "built.txt")); err != nil || strings.TrimSpace(string(b)) != sha {
		t.Fatalf("the run's .shipgate record: %q %v", b, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ents, _ := os.ReadDir(filepath.Join(stateDir(e.root), "work", "acme__remote"))
		if len(ents) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worktrees left behind: %v", ents)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := gitT(t, clone, "worktree", "list"); strings.Count(out, "\n") != 0 {
		t.Fatalf("git still lists worktrees:\n%s", out)
	}
	// An unreachable URL: a dispatch is refused with git's reason.
	code, b = e.call("POST", "/api/dispatch", "bob", DispatchRequest{Repo: "acme/gone", Workflow: "ci.yml", Ref: "main"})
	if code < 400 || !strings.Contains(string(b), "git clone") || !strings.Contains(string(b), "acme/gone") {
		t.Fatalf("dispatch to an unreachable repository: %d %s", code, b)
	}
	// path and url together is a configuration error.
	cfg := &Config{Repositories: []*Repo{{Name: "x", Path: root, URL: "file://" + bare}}}
	if err := cfg.check(); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("path and url: %v", err)
	}
}
