package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/shipgate/shipgate/internal/store"
)

// A repository configured by clone URL (url:) lives in the server's state
// folder: a clone in repos/<name> that is fetched before each trigger is
// expanded (so its workflows are read at the pushed commit), and one git
// worktree per run attempt in work/<name>/<run>-<attempt>, at the commit
// the run was queued for, removed when the run ends. Each worktree's
// .shipgate links to the clone's, so what runs record (deployments, test
// history, baselines) outlives the worktree and /deployments finds it.

// repoLock serialises git operations on one clone.
func (s *Server) repoLock(r *Repo) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repoMu == nil {
		s.repoMu = map[string]*sync.Mutex{}
	}
	m := s.repoMu[r.Name]
	if m == nil {
		m = &sync.Mutex{}
		s.repoMu[r.Name] = m
	}
	return m
}

// clonePath is where a url: repository's clone lives.
func clonePath(stateDir, name string) string {
	return filepath.Join(stateDir, "repos", safeName(name))
}

func safeName(name string) string {
	return strings.NewReplacer("/", "__", "\\", "_", "..", "_", ":", "_").Replace(name)
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// syncClone clones (first time) and fetches a url: repository, then
// checks out the commit t is for. Callers hold repoLock.
func (s *Server) syncClone(ctx context.Context, t *trigger) error {
	r := t.repo
	if _, err := os.Stat(filepath.Join(r.Path, ".git")); err != nil {
		os.MkdirAll(filepath.Dir(r.Path), 0o755)
		if _, err := git(ctx, "", "clone", "--quiet", "--no-checkout", r.URL, r.Path); err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
	}
	if _, err := git(ctx, r.Path, "fetch", "--quiet", "--prune", "--force", "origin",
		"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	var candidates []string
	if sha, _ := t.payload["after"].(string); sha != "" && strings.Trim(sha, "0") != "" {
		candidates = append(candidates, sha)
	}
	if pr, ok := t.payload["pull_request"].(map[string]any); ok {
		if head, ok := pr["head"].(map[string]any); ok {
			if sha, _ := head["sha"].(string); sha != "" {
				candidates = append(candidates, sha)
			}
		}
	}
	ref := t.ref
	if ref == "" {
		if head, err := git(ctx, r.Path, "symbolic-ref", "--short", "refs/remotes/origin/HEAD"); err == nil {
			ref = strings.TrimPrefix(head, "origin/")
		}
	}
	branch := strings.TrimPrefix(ref, "refs/heads/")
	candidates = append(candidates, "refs/remotes/origin/"+branch, ref)
	for _, c := range candidates {
		if c == "" || c == "refs/remotes/origin/" {
			continue
		}
		if commit, err := git(ctx, r.Path, "rev-parse", "--verify", "--quiet", c+"^{commit}"); err == nil {
			_, err := git(ctx, r.Path, "checkout", "--quiet", "--force", "--detach", commit)
			return err
		}
	}
	return fmt.Errorf("%s: no commit for ref %q in %s", r.Name, ref, r.URL)
}

// worktree makes the working folder of one run attempt of a url:
// repository and returns the repository as the run sees it, and a
// function that removes the worktree.
func (s *Server) worktree(ctx context.Context, r *Repo, it *store.QueueItem) (*Repo, func(), error) {
	mu := s.repoLock(r)
	mu.Lock()
	defer mu.Unlock()
	dir := filepath.Join(s.stateDir, "work", safeName(r.Name), strconv.FormatInt(it.ID, 10)+"-"+strconv.Itoa(it.Attempts))
	os.RemoveAll(dir)
	git(ctx, r.Path, "worktree", "prune")
	commit := it.SHA
	if commit == "" {
		commit = "HEAD"
	}
	if _, err := git(ctx, r.Path, "worktree", "add", "--quiet", "--detach", "--force", dir, commit); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	shared := filepath.Join(r.Path, store.DefaultDir)
	os.MkdirAll(shared, 0o755)
	if err := os.Symlink(shared, filepath.Join(dir, store.DefaultDir)); err != nil {
		return nil, nil, err
	}
	run := *r
	run.Path = dir
	return &run, func() {
		mu.Lock()
		defer mu.Unlock()
		ctx := context.WithoutCancel(ctx)
		if _, err := git(ctx, r.Path, "worktree", "remove", "--force", dir); err != nil {
			os.RemoveAll(dir)
			git(ctx, r.Path, "worktree", "prune")
		}
	}, nil
}

// baseCtxOr is the server's context, or a background one before Start.
func (s *Server) baseCtxOr() context.Context {
	if s.baseCtx != nil {
		return s.baseCtx
	}
	return context.Background()
}
