package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/actions"
	"github.com/shipgate/shipgate/internal/executor/host"
	"github.com/shipgate/shipgate/internal/plan"
	"github.com/shipgate/shipgate/internal/workflow"
)

// actCase is one row of testdata/act/CASES.tsv.
type actCase struct {
	name, events, wantErr string
}

// runnableCases reads CASES.tsv and keeps the cases runnable on a Linux
// host without Docker, network or Node, as copied into testdata/act.
func runnableCases(t *testing.T) []actCase {
	b, err := os.ReadFile("testdata/act/CASES.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var out []actCase
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 || len(f) < 12 || f[0] == "." {
			continue
		}
		host := f[11]
		if f[10] != "no" || f[9] != "no" || strings.Contains(host, "windows") || strings.HasPrefix(host, "no") {
			continue
		}
		if f[8] != "no" {
			continue // needs Docker
		}
		out = append(out, actCase{name: f[0], events: f[3], wantErr: f[4]})
	}
	return out
}

// Known differences, each with its reason. A case listed here still runs;
// the test fails if it starts passing (so the list stays honest).
var actKnown = map[string]string{
	"if-env-act":                  "asserts env.ACT is set: act-specific, shipgate is not act",
	"input-from-cli":              "needs --input values from act's CLI test, including SOME_INPUT which the workflow does not declare (shipgate rejects undeclared inputs, exit 2)",
	"matrix-with-user-inclusions": "no act test runs it; it fails on GitHub too (grep 8 for node 4, ubuntu-18.04 for ubuntu-16.04)",
	"issue-1595":                  "invalid workflows (needs a missing job, no on:); shipgate refuses them with exit 2 as actionlint does; no act test runs them",
	"job-nil-step":                "an empty step; actionlint's syntax check rejects it (exit 2); no act test runs it",
	"uses-github-empty":           "uses: with an empty value; rejected as a syntax error (exit 2); no act test runs it",
	"uses-workflow":               "reusable workflows (jobs.<id>.uses) are not run yet (shipgate-support)",
	"workflow_call_inputs":        "workflow_call (reusable workflows) is not run yet (shipgate-support)",
}

// TestActConformance runs act's host-runnable cases and compares each run's
// outcome with what act's tests expect.
func TestActConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ~50 workflows")
	}
	// defaults-run reads $SHELL: unset, as in act's image and a CI service,
	// sh leaves it empty and bash sets it to the login shell. A developer's
	// terminal exports it, which would make the outcome depend on the caller.
	t.Setenv("SHELL", "")
	os.Unsetenv("SHELL")
	cases := runnableCases(t)
	if len(cases) < 40 {
		t.Fatalf("only %d runnable cases found", len(cases))
	}
	ws := t.TempDir()
	if err := os.CopyFS(ws, os.DirFS("testdata/act")); err != nil {
		t.Fatal(err)
	}
	pass := 0
	var report []string
	for _, c := range cases {
		got, detail := runActCase(t, ws, c)
		want := "success"
		if c.wantErr != "" {
			want = "failure"
		}
		ok := got == want
		_, known := actKnown[c.name]
		switch {
		case ok:
			pass++
			if known {
				t.Errorf("%s: now passes; remove it from actKnown", c.name)
			}
		case known:
			report = append(report, fmt.Sprintf("%-45s want %s, got %s: %s", c.name, want, got, actKnown[c.name]))
		default:
			t.Errorf("%s: want %s, got %s\n%s", c.name, want, got, detail)
		}
	}
	t.Logf("act conformance: %d/%d runnable cases pass (%.0f%%)", pass, len(cases), 100*float64(pass)/float64(len(cases)))
	for _, r := range report {
		t.Logf("known: %s", r)
	}
}

func runActCase(t *testing.T, ws string, c actCase) (string, string) {
	dir := filepath.Join(ws, c.name)
	ents, _ := os.ReadDir(dir)
	var files []string
	for _, e := range ents {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".yaml")) {
			files = append(files, filepath.Join(dir, n))
		}
	}
	event := "push"
	if c.events != "" {
		event = strings.Split(c.events, ";")[0]
	}
	var payload map[string]any
	if b, err := os.ReadFile(filepath.Join(dir, "event.json")); err == nil {
		json.Unmarshal(b, &payload)
	}
	secrets := map[string]string{}
	if b, err := os.ReadFile(filepath.Join(dir, ".secrets")); err == nil {
		secrets, _ = ParseDotenv(string(b))
	}
	var envs map[string]string
	if b, err := os.ReadFile(filepath.Join(dir, ".env")); err == nil {
		envs, _ = ParseDotenv(string(b))
	}
	var detail strings.Builder
	status := "success"
	ran := 0
	for _, f := range files {
		wf, ds, err := workflow.Load(f, workflow.Options{Strict: true, KnownAction: actions.Known, NoScriptCheck: true, ProjectRoot: ws})
		if err != nil {
			return "error", err.Error()
		}
		ds, _ = Blocking(ds)
		if len(ds) > 0 || wf == nil {
			for _, d := range ds {
				fmt.Fprintf(&detail, "%s: %s [%s]\n", d.Pos, d.Message, d.Rule)
			}
			status = "failure"
			continue
		}
		ev := event
		if c.events == "" && len(wf.On) > 0 {
			ev = wf.On[0].Event // no act test names an event: the workflow's first
		}
		pe := plan.Event{Name: ev, Ref: "refs/heads/main", Inputs: map[string]string{}}
		if in, ok := payload["inputs"].(map[string]any); ok {
			for k, v := range in {
				pe.Inputs[k] = fmt.Sprint(v)
			}
		}
		if ok, _ := plan.Triggered(wf, pe); !ok {
			continue
		}
		ran++
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var log strings.Builder
		res, err := Run(ctx, Options{
			Workflow: wf, WorkflowPath: f, Event: pe, EventPayload: payload,
			GitHub: map[string]any{"sha": strings.Repeat("a", 40), "ref": "refs/heads/main", "ref_name": "main", "ref_type": "branch",
				"repository": "nektos/act", "repository_owner": "nektos", "actor": "nektos/act"},
			Secrets: secrets, Env: envs, Parallel: 2, Workspace: ws, StateDir: filepath.Join(t.TempDir(), ".shipgate"),
			Executor: host.New(), Sink: func(e Event) {
				if e.Type == "log" || e.Type == "annotation" || e.Type == "job_finished" {
					fmt.Fprintf(&log, "[%s] %s %s %s\n", e.Job, e.Type, e.Status, e.Text)
				}
			},
		})
		cancel()
		if err != nil {
			fmt.Fprintf(&detail, "%s: %v\n", f, err)
			status = "failure"
			continue
		}
		if res.Status != "success" {
			status = "failure"
			detail.WriteString(log.String())
		}
	}
	if ran == 0 && status == "success" {
		return "not-triggered", detail.String()
	}
	return status, detail.String()
}

var _ = exec.Command
var _ = slices.Contains[[]string]
