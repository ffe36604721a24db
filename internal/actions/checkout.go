package actions

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// checkout: the workspace already is the repository. With `path` (and
// optionally `ref`), a git worktree of ref is added at that path; with only
// `ref`, the ref must be what is checked out, else a worktree would be
// needed and the action says to use `path`.
func checkout(ctx context.Context, e *Env) (*Result, error) {
	if repo := e.Input("repository", ""); repo != "" && !sameRepo(ctx, e.Workspace, repo) {
		return nil, fmt.Errorf("actions/checkout: repository %q is not this repository; shipgate checks out only the local repository (nothing is downloaded)", repo)
	}
	path := e.Input("path", "")
	ref := e.Input("ref", "")
	out := &Result{Outputs: map[string]string{}}
	if path == "" || filepath.Clean(path) == "." {
		if ref != "" {
			want, err := git(ctx, e.Workspace, "rev-parse", ref+"^{commit}")
			if err != nil {
				return nil, fmt.Errorf("actions/checkout: ref %q: %v", ref, err)
			}
			head, _ := git(ctx, e.Workspace, "rev-parse", "HEAD")
			if want != head {
				return nil, fmt.Errorf("actions/checkout: ref %q is not the checked-out commit; give a `path:` to check it out in a git worktree", ref)
			}
		}
		if head, err := git(ctx, e.Workspace, "rev-parse", "HEAD"); err == nil {
			out.Outputs["commit"] = head
			out.Outputs["ref"] = ref
		}
		e.Log("The workspace is the repository: %s", e.Workspace)
		return out, nil
	}
	dest := path
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(e.Workspace, path)
	}
	if ref == "" {
		ref = "HEAD"
	}
	if _, err := os.Stat(dest); err == nil {
		// A worktree from an earlier run: move it to the ref.
		if _, err := git(ctx, dest, "checkout", "--detach", "--force", ref); err != nil {
			return nil, fmt.Errorf("actions/checkout: %s exists and is not a worktree we can move to %q: %v", path, ref, err)
		}
	} else if _, err := git(ctx, e.Workspace, "worktree", "add", "--detach", "--force", dest, ref); err != nil {
		return nil, fmt.Errorf("actions/checkout: git worktree add %s %s: %v", path, ref, err)
	}
	head, _ := git(ctx, dest, "rev-parse", "HEAD")
	out.Outputs["commit"] = head
	out.Outputs["ref"] = e.Input("ref", "")
	e.Log("Checked out %s at %s in %s (git worktree)", ref, head, path)
	return out, nil
}

func sameRepo(ctx context.Context, dir, repo string) bool {
	url, err := git(ctx, dir, "remote", "get-url", "origin")
	if err != nil {
		return false
	}
	url = strings.TrimSuffix(strings.TrimSuffix(url, "/"), ".git")
	return strings.HasSuffix(strings.ToLower(url), "/"+strings.ToLower(repo)) || strings.HasSuffix(strings.ToLower(url), ":"+strings.ToLower(repo))
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("%s", msg)
	}
	return strings.TrimSpace(out.String()), nil
}
