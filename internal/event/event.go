// Package event builds what a run knows about its trigger: the plan.Event
// used to filter and plan, and the `github` context, from the local git
// repository and an optional event payload file (--eventpath), as GitHub's
// runner would fill them.
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/plan"
)

// Options say which event to build.
type Options struct {
	// Name is the event name (default "push").
	Name string
	// Workspace is the repository folder (default: the current directory).
	Workspace string
	// EventPath is a JSON payload file, as GitHub writes to GITHUB_EVENT_PATH.
	EventPath string
	// Inputs are workflow_dispatch inputs.
	Inputs map[string]string
	// Ref overrides the ref (refs/heads/x or refs/tags/v1).
	Ref string
}

// Event is the trigger with its github context.
type Event struct {
	Plan    plan.Event
	Payload map[string]any
	// GitHub is the `github` context (without run-specific fields such as
	// run_id, which the engine adds).
	GitHub map[string]any
}

// Load builds the event. A malformed event file is an error naming it.
func Load(o Options) (*Event, error) {
	if o.Name == "" {
		o.Name = "push"
	}
	if o.Workspace == "" {
		o.Workspace, _ = os.Getwd()
	}
	ws, _ := filepath.Abs(o.Workspace)
	payload := map[string]any{}
	if o.EventPath != "" {
		b, err := os.ReadFile(o.EventPath)
		if err != nil {
			return nil, fmt.Errorf("cannot read event file: %w", err)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("event file %s is not valid JSON: %v", o.EventPath, jsonErrorPos(b, err))
		}
		m, ok := expr.FromGo(v).(map[string]any)
		if !ok {
			return nil, fmt.Errorf("event file %s must hold a JSON object", o.EventPath)
		}
		payload = m
	}
	g := gitFacts(ws)
	ref := firstNonEmpty(o.Ref, str(payload, "ref"), g.ref)
	sha := firstNonEmpty(str(payload, "after"), g.sha)
	ev := &Event{Payload: payload}
	ev.Plan = plan.Event{Name: o.Name, Ref: ref, Inputs: o.Inputs, Action: str(payload, "action")}
	headRef, baseRef := "", ""
	if o.Name == "pull_request" || o.Name == "pull_request_target" {
		if pr, ok := payload["pull_request"].(map[string]any); ok {
			headRef = str(sub(pr, "head"), "ref")
			baseRef = str(sub(pr, "base"), "ref")
			sha = firstNonEmpty(str(sub(pr, "head"), "sha"), sha)
		}
		if baseRef != "" {
			ev.Plan.Ref = "refs/heads/" + baseRef
		}
		if n, ok := payload["number"]; ok {
			ref = fmt.Sprintf("refs/pull/%s/merge", expr.ToString(n))
		}
	}
	if o.Name == "workflow_dispatch" && len(o.Inputs) > 0 {
		in := map[string]any{}
		for k, v := range o.Inputs {
			in[k] = v
		}
		if _, ok := payload["inputs"]; !ok {
			payload["inputs"] = in
		}
	}
	refName, refType := ref, ""
	if s, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		refName, refType = s, "branch"
	} else if s, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		refName, refType = s, "tag"
	}
	if _, ok := payload["head_commit"]; !ok && g.sha != "" && o.Name == "push" {
		payload["head_commit"] = map[string]any{
			"id": g.sha, "message": g.message,
			"author":    map[string]any{"name": g.author, "email": g.email},
			"committer": map[string]any{"name": g.author, "email": g.email},
		}
	}
	actor := firstNonEmpty(str(sub(payload, "sender"), "login"), os.Getenv("GITHUB_ACTOR"), g.author, os.Getenv("USER"))
	repo := firstNonEmpty(str(sub(payload, "repository"), "full_name"), g.repo, filepath.Base(ws))
	owner, _, _ := strings.Cut(repo, "/")
	ev.GitHub = map[string]any{
		"event_name":          o.Name,
		"event":               payload,
		"sha":                 sha,
		"ref":                 ref,
		"ref_name":            refName,
		"ref_type":            refType,
		"head_ref":            headRef,
		"base_ref":            baseRef,
		"actor":               actor,
		"triggering_actor":    actor,
		"repository":          repo,
		"repository_owner":    owner,
		"workspace":           ws,
		"server_url":          "https://github.com",
		"api_url":             "https://api.github.com",
		"graphql_url":         "https://api.github.com/graphql",
		"retention_days":      90.0,
		"repositoryUrl":       g.remote,
		"ref_protected":       false,
		"secret_source":       "None",
		"token":               "",
		"action":              "",
		"action_path":         "",
		"job":                 "",
		"run_attempt":         "1",
		"workflow_ref":        "",
		"repository_id":       "",
		"repository_owner_id": "",
	}
	return ev, nil
}

type facts struct {
	sha, ref, message, author, email, repo, remote string
}

// gitFacts reads HEAD and the origin remote with the git binary; outside a
// repository every fact is empty.
func gitFacts(dir string) facts {
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	// One `git log` gives the commit's facts; three processes in all (four
	// on a detached HEAD), since a server runs this for every delivery.
	head := git("log", "-1", "--format=%H%x00%an%x00%ae%x00%B")
	parts := strings.SplitN(head, "\x00", 4)
	if len(parts) < 4 {
		return facts{}
	}
	f := facts{sha: parts[0], author: parts[1], email: parts[2], message: strings.TrimSpace(parts[3])}
	if sym := git("symbolic-ref", "-q", "HEAD"); sym != "" {
		f.ref = sym
	} else if tag := git("describe", "--tags", "--exact-match", "HEAD"); tag != "" {
		f.ref = "refs/tags/" + tag
	}
	f.remote = git("remote", "get-url", "origin")
	f.repo = repoFromRemote(f.remote)
	return f
}

// repoFromRemote turns git@github.com:o/r.git or https://host/o/r into "o/r".
func repoFromRemote(u string) string {
	u = strings.TrimSuffix(strings.TrimSpace(u), ".git")
	if u == "" {
		return ""
	}
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			u = u[j+1:]
		}
	} else if i := strings.IndexByte(u, ':'); i >= 0 {
		u = u[i+1:]
	}
	parts := strings.Split(strings.Trim(u, "/"), "/")
	if len(parts) >= 2 {
		return parts[len(parts)-2] + "/" + parts[len(parts)-1]
	}
	return ""
}

func jsonErrorPos(b []byte, err error) string {
	var se *json.SyntaxError
	if e, ok := err.(*json.SyntaxError); ok {
		se = e
		line := bytes.Count(b[:se.Offset], []byte("\n")) + 1
		col := int(se.Offset) - bytes.LastIndexByte(b[:se.Offset], '\n')
		return fmt.Sprintf("line %d, column %d: %v", line, col, err)
	}
	return err.Error()
}

func sub(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

func str(m map[string]any, k string) string {
	if m == nil {
		return ""
	}
	if v, ok := m[k].(string); ok {
		return v
	}
	return ""
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
