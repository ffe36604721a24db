// Package plan turns a workflow and an event into the job graph that would
// run: which triggers fire (branch, tag and path filters), which jobs and
// matrix legs there are, in dependency order, with cycles reported at their
// position. It is pure: no I/O, no processes.
package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/workflow"
)

// Rule IDs of planning diagnostics.
const (
	RuleNeeds  = "plan-needs"
	RuleMatrix = "plan-matrix"
	RuleInput  = "plan-input"
	RuleEvent  = "plan-event"
)

// Event is what triggers a run.
type Event struct {
	// Name is the event name: push, pull_request, workflow_dispatch, ...
	Name string
	// Ref is the full ref: refs/heads/main, refs/tags/v1.2.0. For
	// pull_request it is the base branch's ref.
	Ref string
	// ChangedFiles are the paths changed by the event; nil means unknown,
	// in which case path filters are not applied.
	ChangedFiles []string
	// Action is the activity type (opened, synchronize, ...), if any.
	Action string
	// Inputs are workflow_dispatch inputs given by the user.
	Inputs map[string]string
	// Schedule is the cron line for a schedule event, if known.
	Schedule string
}

// Triggered reports whether the workflow runs for the event, and why not.
func Triggered(wf *workflow.Workflow, ev Event) (bool, string) {
	for _, t := range wf.On {
		if t.Event != ev.Name {
			continue
		}
		if ok, why := matches(t, ev); !ok {
			return false, why
		}
		return true, ""
	}
	names := make([]string, 0, len(wf.On))
	for _, t := range wf.On {
		names = append(names, t.Event)
	}
	return false, fmt.Sprintf("the workflow does not run on %q (it runs on: %s)", ev.Name, strings.Join(names, ", "))
}

func values(ss []workflow.String) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Value
	}
	return out
}

func matches(t *workflow.Trigger, ev Event) (bool, string) {
	if len(t.Types) > 0 && ev.Action != "" && !slices.Contains(values(t.Types), ev.Action) {
		return false, fmt.Sprintf("activity type %q is not among %s", ev.Action, strings.Join(values(t.Types), ", "))
	}
	branch, isBranch := strings.CutPrefix(ev.Ref, "refs/heads/")
	tag, isTag := strings.CutPrefix(ev.Ref, "refs/tags/")
	if ev.Name == "pull_request" || ev.Name == "pull_request_target" {
		isTag = false
		if !isBranch {
			branch, isBranch = ev.Ref, true
		}
	}
	hasBranchFilter := len(t.Branches)+len(t.BranchesIgnore) > 0
	hasTagFilter := len(t.Tags)+len(t.TagsIgnore) > 0
	switch {
	case isBranch && hasBranchFilter:
		if len(t.Branches) > 0 && !MatchList(values(t.Branches), branch) {
			return false, fmt.Sprintf("branch %q matches no pattern in branches", branch)
		}
		if len(t.BranchesIgnore) > 0 && MatchList(values(t.BranchesIgnore), branch) {
			return false, fmt.Sprintf("branch %q is in branches-ignore", branch)
		}
	case isBranch && hasTagFilter:
		// Only tag filters: pushes to branches do not run.
		return false, "the trigger filters tags only and this is a branch"
	case isTag && hasTagFilter:
		if len(t.Tags) > 0 && !MatchList(values(t.Tags), tag) {
			return false, fmt.Sprintf("tag %q matches no pattern in tags", tag)
		}
		if len(t.TagsIgnore) > 0 && MatchList(values(t.TagsIgnore), tag) {
			return false, fmt.Sprintf("tag %q is in tags-ignore", tag)
		}
	case isTag && hasBranchFilter:
		return false, "the trigger filters branches only and this is a tag"
	}
	if ev.ChangedFiles != nil && !isTag {
		if len(t.Paths) > 0 && !slices.ContainsFunc(ev.ChangedFiles, func(f string) bool { return MatchList(values(t.Paths), f) }) {
			return false, "no changed file matches paths"
		}
		if len(t.PathsIgnore) > 0 && len(ev.ChangedFiles) > 0 && !slices.ContainsFunc(ev.ChangedFiles, func(f string) bool { return !MatchList(values(t.PathsIgnore), f) }) {
			return false, "every changed file is in paths-ignore"
		}
	}
	return true, ""
}

// Inputs resolves workflow_dispatch inputs: given values checked against
// their types, defaults for the rest, required ones enforced. Values are
// typed (booleans and numbers) as in the `inputs` context.
func Inputs(wf *workflow.Workflow, ev Event) (map[string]any, []diag.Diagnostic) {
	var trig *workflow.Trigger
	for _, t := range wf.On {
		if t.Event == ev.Name && (t.Event == "workflow_dispatch" || t.Event == "workflow_call") {
			trig = t
		}
	}
	out := map[string]any{}
	var ds []diag.Diagnostic
	if trig == nil {
		for k, v := range ev.Inputs {
			out[k] = v
		}
		return out, nil
	}
	known := map[string]bool{}
	for _, in := range trig.Inputs {
		known[in.Name] = true
		raw, given := ev.Inputs[in.Name]
		if !given {
			if in.Required && !in.Default.Set {
				ds = append(ds, diag.Errorf(in.Pos, RuleInput, "input %q is required: give it with --input %s=VALUE", in.Name, in.Name))
				continue
			}
			raw = in.Default.Value
		}
		v, err := typedInput(in, raw, given)
		if err != nil {
			ds = append(ds, diag.Errorf(in.Pos, RuleInput, "input %q: %v", in.Name, err))
			continue
		}
		out[in.Name] = v
	}
	for _, k := range sortedKeys(anyMap(ev.Inputs)) {
		if !known[k] {
			ds = append(ds, diag.Errorf(trig.Pos, RuleInput, "input %q is not declared by the workflow's %s trigger", k, trig.Event))
		}
	}
	return out, ds
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func typedInput(in *workflow.Input, raw string, given bool) (any, error) {
	switch in.Type {
	case "boolean":
		if raw == "" && !given {
			return false, nil
		}
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean (true or false)", raw)
		}
		return b, nil
	case "number":
		if raw == "" && !given {
			return nil, nil
		}
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", raw)
		}
		return f, nil
	case "choice":
		if given && !slices.Contains(in.Options, raw) {
			return nil, fmt.Errorf("%q is not one of the options %s", raw, strings.Join(in.Options, ", "))
		}
	}
	return raw, nil
}

// Node is one job, or one leg of a matrix job, in the graph.
type Node struct {
	// ID is unique in the graph: the job ID, with the leg's index for a
	// matrix job ("test/2").
	ID    string
	JobID string
	// Name is the display name, with matrix values substituted.
	Name string
	// Matrix is this leg's values (nil for a job without a matrix).
	Matrix map[string]any
	// Leg and Legs number the matrix legs (0 and 1 without a matrix).
	Leg, Legs int
	// Dynamic is set when the matrix can only be expanded at run time.
	Dynamic bool
	// Needs are job IDs this job waits for.
	Needs []string
	Job   *workflow.Job
}

// Graph is the plan: nodes in dependency order (a job after all its needs,
// otherwise in file order).
type Graph struct {
	Workflow *workflow.Workflow
	Event    Event
	Nodes    []*Node
	// Order is the job IDs in dependency order.
	Order []string
}

// Build plans the jobs of a workflow for an event. c supplies the contexts
// that static matrices and names may use (github, inputs, vars); nil is
// allowed. Only jobs in only (if non-empty) and what they need are planned.
func Build(wf *workflow.Workflow, ev Event, c *expr.Context, only []string) (*Graph, []diag.Diagnostic) {
	g := &Graph{Workflow: wf, Event: ev}
	var ds []diag.Diagnostic
	order, cycleDs := Order(wf)
	ds = append(ds, cycleDs...)
	if diag.HasErrors(ds) {
		return g, ds
	}
	keep := map[string]bool{}
	if len(only) > 0 {
		for _, id := range only {
			if wf.Job(id) == nil {
				ids := make([]string, len(wf.Jobs))
				for i, j := range wf.Jobs {
					ids[i] = j.ID
				}
				ds = append(ds, diag.Errorf(diag.Pos{File: wf.File}, RuleNeeds, "no job %q in the workflow (jobs: %s)", id, strings.Join(ids, ", ")))
				continue
			}
			markNeeds(wf, id, keep)
		}
		if diag.HasErrors(ds) {
			return g, ds
		}
	}
	for _, id := range order {
		if len(only) > 0 && !keep[id] {
			continue
		}
		g.Order = append(g.Order, id)
		j := wf.Job(id)
		needs := values(j.Needs)
		var legs []Leg
		dynamic := false
		if j.Strategy != nil && j.Strategy.Matrix != nil {
			var err error
			legs, err = ExpandMatrix(j.Strategy.Matrix, c)
			// A matrix built from needs outputs is only known at run time.
			if err == ErrDynamic || (err != nil && len(needs) > 0 && strings.Contains(err.Error(), `context "needs"`)) {
				dynamic, legs = true, nil
			} else if err != nil {
				ds = append(ds, diag.Errorf(j.Strategy.Matrix.Pos, RuleMatrix, "%v", trimPos(err, j.Strategy.Matrix.Pos)))
				continue
			}
		}
		if legs == nil {
			g.Nodes = append(g.Nodes, &Node{ID: id, JobID: id, Name: JobName(j, nil, c), Needs: needs, Job: j, Legs: 1, Dynamic: dynamic})
			continue
		}
		for i, leg := range legs {
			g.Nodes = append(g.Nodes, &Node{
				ID: id + "/" + strconv.Itoa(i), JobID: id, Name: JobName(j, &leg, c),
				Matrix: leg.Values, Leg: i, Legs: len(legs), Needs: needs, Job: j,
			})
		}
	}
	diag.Sort(ds)
	return g, ds
}

func trimPos(err error, p diag.Pos) string {
	return strings.TrimPrefix(err.Error(), p.String()+": ")
}

func markNeeds(wf *workflow.Workflow, id string, keep map[string]bool) {
	if keep[id] {
		return
	}
	keep[id] = true
	if j := wf.Job(id); j != nil {
		for _, n := range j.Needs {
			markNeeds(wf, n.Value, keep)
		}
	}
}

// Order sorts the jobs so each comes after its needs (file order otherwise)
// and reports unknown needs and cycles at their position.
func Order(wf *workflow.Workflow) ([]string, []diag.Diagnostic) {
	var ds []diag.Diagnostic
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var order []string
	var stack []string
	var visit func(j *workflow.Job) bool
	visit = func(j *workflow.Job) bool {
		switch state[j.ID] {
		case 1:
			i := slices.Index(stack, j.ID)
			cycle := append(slices.Clone(stack[i:]), j.ID)
			ds = append(ds, diag.Errorf(j.Pos, RuleNeeds, "cycle in needs: %s", strings.Join(cycle, " -> ")))
			return false
		case 2:
			return true
		}
		state[j.ID] = 1
		stack = append(stack, j.ID)
		ok := true
		for _, n := range j.Needs {
			dep := wf.Job(n.Value)
			if dep == nil {
				ds = append(ds, diag.Errorf(n.Pos, RuleNeeds, "job %q needs %q, which does not exist", j.ID, n.Value))
				ok = false
				continue
			}
			if !visit(dep) {
				ok = false
				break
			}
		}
		stack = stack[:len(stack)-1]
		state[j.ID] = 2
		order = append(order, j.ID)
		return ok
	}
	for _, j := range wf.Jobs {
		if state[j.ID] == 0 {
			visit(j)
		}
	}
	return order, ds
}

// JobName is a job's display name: its `name:` with expressions evaluated,
// or its ID; a matrix leg not named by its own matrix values gets them in
// parentheses, as GitHub shows them.
func JobName(j *workflow.Job, leg *Leg, c *expr.Context) string {
	name := j.ID
	if j.Name.Set {
		name = j.Name.Value
		if expr.HasExpr(name) {
			ctx := &expr.Context{Contexts: map[string]any{}}
			if c != nil {
				for k, v := range c.Contexts {
					ctx.Contexts[k] = v
				}
			}
			if leg != nil {
				ctx.Contexts["matrix"] = leg.Values
			}
			if s, err := expr.Interpolate(name, ctx); err == nil {
				return s
			}
		}
	}
	if leg == nil || len(leg.Keys) == 0 || strings.Contains(j.Name.Value, "matrix.") {
		return name
	}
	parts := make([]string, 0, len(leg.Keys))
	for _, k := range leg.Keys {
		v := leg.Values[k]
		switch v.(type) {
		case map[string]any, []any:
			parts = append(parts, strings.Join(strings.Fields(expr.ToJSON(v)), " "))
		default:
			parts = append(parts, expr.ToString(v))
		}
	}
	return name + " (" + strings.Join(parts, ", ") + ")"
}
