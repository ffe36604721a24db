package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/event"
	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/workflow"
	"github.com/spf13/cobra"
)

// defaultWorkflowDir is where workflows live in a repository.
const defaultWorkflowDir = ".github/workflows"

// workflowFlags pick a workflow and the event it runs for (plan, graph, run).
type workflowFlags struct {
	file      string
	event     string
	eventPath string
	inputs    []string
	ref       string
}

func (f *workflowFlags) register(c *cobra.Command, withEvent bool) {
	c.Flags().StringVarP(&f.file, "workflow", "W", "", "workflow `FILE` (default: the only workflow in .github/workflows)")
	if withEvent {
		c.Flags().StringVarP(&f.event, "event", "e", "push", "event `NAME` that triggers the run")
		c.Flags().StringVar(&f.eventPath, "eventpath", "", "JSON event payload `FILE`, as GitHub writes to GITHUB_EVENT_PATH")
		c.Flags().StringArrayVar(&f.inputs, "input", nil, "workflow_dispatch input `NAME=VALUE` (repeatable)")
		c.Flags().StringVar(&f.ref, "ref", "", "git `REF` to plan for (default: the checked-out branch or tag)")
	}
}

// resolveFile finds the workflow file: the flag, or the only file in
// .github/workflows.
func (f *workflowFlags) resolveFile() (string, error) {
	if f.file != "" {
		return f.file, nil
	}
	files, err := workflow.FindFiles([]string{defaultWorkflowDir})
	if err != nil {
		return "", usageError("no workflow given and %s cannot be read: use -W FILE", defaultWorkflowDir)
	}
	switch len(files) {
	case 0:
		return "", usageError("no workflow in %s: use -W FILE", defaultWorkflowDir)
	case 1:
		return files[0], nil
	}
	names := make([]string, len(files))
	for i, p := range files {
		names[i] = filepath.Base(p)
	}
	return "", usageError("%d workflows in %s (%s): pick one with -W FILE", len(files), defaultWorkflowDir, strings.Join(names, ", "))
}

// loadWorkflow reads the workflow; strict makes unsupported features errors.
// Diagnostics are printed; any error ends the command with exit 1.
func (a *app) loadWorkflow(f *workflowFlags, strict bool, known func(string) (bool, []string)) (*workflow.Workflow, error) {
	path, err := f.resolveFile()
	if err != nil {
		return nil, err
	}
	wf, ds, err := workflow.Load(path, workflow.Options{Strict: strict, KnownAction: known})
	if err != nil {
		return nil, asUsage(err)
	}
	if diag.HasErrors(ds) || wf == nil {
		diag.WriteText(a.stderr, ds, nil, isTerminal(a.stderr))
		e, w, _ := diag.Count(ds)
		return nil, failed(fmt.Errorf("%s: %d error(s), %d warning(s)", path, e, w))
	}
	diag.WriteText(a.stderr, ds, nil, isTerminal(a.stderr))
	return wf, nil
}

// loadEvent builds the event from the flags.
func (f *workflowFlags) loadEvent() (*event.Event, error) {
	inputs := map[string]string{}
	for _, kv := range f.inputs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError("--input %q: want NAME=VALUE", kv)
		}
		inputs[k] = v
	}
	wd, _ := os.Getwd()
	ev, err := event.Load(event.Options{Name: f.event, EventPath: f.eventPath, Inputs: inputs, Ref: f.ref, Workspace: wd})
	if err != nil {
		return nil, asUsage(err)
	}
	return ev, nil
}

// planContext is what static expressions may use while planning.
func planContext(ev *event.Event, inputs map[string]any) *expr.Context {
	return &expr.Context{Contexts: map[string]any{
		"github": ev.GitHub,
		"inputs": inputs,
		"vars":   map[string]any{},
		"env":    map[string]any{},
	}}
}

// failWith prints diagnostics and fails with exit 1.
func (a *app) failWith(ds []diag.Diagnostic) error {
	diag.WriteText(a.stderr, ds, nil, isTerminal(a.stderr))
	e, _, _ := diag.Count(ds)
	return failed(fmt.Errorf("%d error(s)", e))
}
