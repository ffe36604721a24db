package engine

import (
	"context"
	"encoding/json"
	"maps"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/plan"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
)

// baseContext is what every expression of the run sees: github, inputs,
// vars, secrets, runner.
func (r *run) baseContext() map[string]any {
	o := r.opts
	gh := map[string]any{}
	for k, v := range o.GitHub {
		gh[k] = expr.FromGo(v)
	}
	payload := any(map[string]any{})
	if o.EventPayload != nil {
		payload = expr.FromGo(o.EventPayload)
	}
	// Refs a pull_request payload carries.
	if pm, ok := payload.(map[string]any); ok {
		if pr, ok := pm["pull_request"].(map[string]any); ok {
			for key, side := range map[string]string{"head_ref": "head", "base_ref": "base"} {
				if sm, ok := pr[side].(map[string]any); ok && str(gh[key]) == "" {
					gh[key] = sm["ref"]
				}
			}
		}
	}
	gh["event_name"] = o.Event.Name
	gh["event"] = payload
	gh["workspace"] = o.Workspace
	gh["workflow"] = o.Workflow.Name.Value
	if gh["workflow"] == "" {
		gh["workflow"] = o.WorkflowPath
	}
	if r.id != 0 {
		gh["run_id"] = strconv.FormatInt(r.id, 10)
		gh["run_number"] = strconv.FormatInt(r.id, 10)
	}
	for k, v := range map[string]string{"run_attempt": "1", "server_url": "https://github.com", "api_url": "https://api.github.com", "graphql_url": "https://api.github.com/graphql", "token": "", "retention_days": "90"} {
		if _, ok := gh[k]; !ok {
			gh[k] = v
		}
	}
	inputs, _ := plan.Inputs(o.Workflow, o.Event)
	vars := map[string]any{}
	for k, v := range o.Vars {
		vars[k] = v
	}
	secrets := map[string]any{"GITHUB_TOKEN": ""}
	for k, v := range o.Secrets {
		secrets[k] = v
	}
	return map[string]any{
		"github":  gh,
		"inputs":  expr.FromGo(inputs),
		"vars":    vars,
		"secrets": secrets,
		"runner":  r.runnerContext(),
	}
}

func (r *run) runnerContext() map[string]any {
	arch := map[string]string{"amd64": "X64", "arm64": "ARM64", "386": "X86", "arm": "ARM"}[runtime.GOARCH]
	return map[string]any{"os": "Linux", "arch": arch, "name": "shipgate-host", "environment": "self-hosted",
		"temp": r.tempDir, "tool_cache": r.toolCache(), "debug": ""}
}

func (r *run) toolCache() string { return r.opts.StateDir + "/toolcache" }

// statusFuncs answers success(), failure(), cancelled() for a job's `if:`
// (from its needs, transitively) or a step's (from the job status).
type statusFuncs struct{ ok, failed, cancelled bool }

func (s statusFuncs) Succeeded() bool { return s.ok && !s.cancelled }
func (s statusFuncs) Failed() bool    { return s.failed }
func (s statusFuncs) Cancelled() bool { return s.cancelled }

var _ expr.StatusFuncs = statusFuncs{}

// ancestors lists every job id reachable through needs.
func ancestors(wf *workflow.Workflow, id string, seen map[string]bool) {
	j := wf.Job(id)
	if j == nil {
		return
	}
	for _, n := range j.Needs {
		if !seen[n.Value] {
			seen[n.Value] = true
			ancestors(wf, n.Value, seen)
		}
	}
}

// runJob waits for the job's needs, decides whether it runs and runs its
// matrix legs.
func (r *run) runJob(ctx context.Context, id string, order int) {
	wf := r.opts.Workflow
	j := wf.Job(id)
	for _, n := range j.Needs {
		if ch, ok := r.done[n.Value]; ok {
			<-ch
		}
	}
	finish := func(result string, outputs map[string]string) {
		r.mu.Lock()
		r.results[id] = &jobOutcome{Result: result, Outputs: outputs}
		r.mu.Unlock()
	}
	if reused, ok := r.opts.Reuse[id]; ok {
		finish(reused.Result, reused.Outputs)
		r.addLeg(&JobResult{JobID: id, Name: plan.JobName(j, nil, nil), Status: reused.Result, Outputs: reused.Outputs, Reused: true, order: order})
		r.emit(Event{Type: "job_finished", Job: plan.JobName(j, nil, nil), JobID: id, Status: reused.Result, Text: "reused from the original run"})
		return
	}

	contexts := r.baseContext()
	needs := map[string]any{}
	r.mu.Lock()
	for _, n := range j.Needs {
		if o := r.results[n.Value]; o != nil {
			outs := map[string]any{}
			for k, v := range o.Outputs {
				outs[k] = v
			}
			needs[n.Value] = map[string]any{"result": o.Result, "outputs": outs}
		}
	}
	anc := map[string]bool{}
	ancestors(wf, id, anc)
	sf := statusFuncs{ok: true, cancelled: r.isCancelled()}
	for a := range anc {
		if o := r.results[a]; o != nil {
			if o.Result != store.StatusSuccess {
				sf.ok = false
			}
			if o.Result == store.StatusFailure {
				sf.failed = true
			}
		}
	}
	r.mu.Unlock()
	contexts["needs"] = needs

	name := plan.JobName(j, nil, &expr.Context{Contexts: contexts})
	ec := &expr.Context{Contexts: contexts, Status: sf, HashFiles: r.hashFiles}
	run, err := expr.Condition(j.If.Value, ec)
	if err != nil {
		r.jobError(ctx, id, name, order, j.If.Pos.String()+": job if: "+err.Error())
		finish(store.StatusFailure, nil)
		return
	}
	if !run {
		status := store.StatusSkipped
		if sf.cancelled {
			status = store.StatusCancelled
		}
		r.recordSkipped(ctx, id, name, order, status)
		finish(status, nil)
		return
	}

	// A protected environment: wait for the gate (approvals) first.
	if j.Environment != nil && r.opts.EnvironmentGate != nil {
		envName, err := expr.Interpolate(j.Environment.Name.Value, ec)
		if err == nil && envName != "" {
			r.emit(Event{Type: "job_waiting", Job: name, JobID: id, Text: envName})
			if err := r.opts.EnvironmentGate(ctx, id, envName); err != nil {
				if ctx.Err() != nil {
					r.recordSkipped(ctx, id, name, order, store.StatusCancelled)
					finish(store.StatusCancelled, nil)
					return
				}
				r.jobError(ctx, id, name, order, "environment "+envName+": "+err.Error())
				finish(store.StatusFailure, nil)
				return
			}
		}
	}

	// Matrix legs, now that needs outputs are known.
	legs := []plan.Leg{{Values: nil}}
	failFast, maxParallel := true, 0
	if s := j.Strategy; s != nil {
		if s.Matrix != nil {
			legs, err = plan.ExpandMatrix(s.Matrix, ec)
			if err != nil {
				r.jobError(ctx, id, name, order, "matrix: "+err.Error())
				finish(store.StatusFailure, nil)
				return
			}
			legs = filterLegs(legs, r.opts.MatrixFilter)
			if len(legs) == 0 {
				r.recordSkipped(ctx, id, name, order, store.StatusSkipped)
				finish(store.StatusSkipped, nil)
				return
			}
		}
		if s.FailFast.Set {
			failFast = boolValue(s.FailFast.Value, ec)
		}
		if s.MaxParallel.Set {
			v, _ := expr.Value(s.MaxParallel.Value, ec)
			maxParallel = int(expr.ToNumber(v))
		}
	}
	legCtx, cancelLegs := context.WithCancel(ctx)
	defer cancelLegs()
	var jobSem chan struct{}
	if maxParallel > 0 {
		jobSem = make(chan struct{}, maxParallel)
	}
	results := make([]*JobResult, len(legs))
	var mu sync.Mutex
	failed := false
	var wg sync.WaitGroup
	for i, leg := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if jobSem != nil {
				jobSem <- struct{}{}
				defer func() { <-jobSem }()
			}
			r.sem <- struct{}{}
			defer func() { <-r.sem }()
			lc := maps.Clone(contexts)
			var legName string
			if leg.Values != nil {
				lc["matrix"] = expr.FromGo(leg.Values)
				legName = plan.JobName(j, &leg, &expr.Context{Contexts: lc})
			} else {
				lc["matrix"] = map[string]any{}
				legName = name
			}
			lc["strategy"] = map[string]any{"fail-fast": failFast, "job-index": float64(i), "job-total": float64(len(legs)), "max-parallel": float64(max(maxParallel, len(legs)))}
			mu.Lock()
			skip := failed && failFast
			mu.Unlock()
			var jr *JobResult
			if skip || legCtx.Err() != nil && !r.isCancelled() {
				jr = &JobResult{JobID: id, Name: legName, Matrix: leg.Values, Status: store.StatusCancelled, order: order, leg: i}
				r.recordSkipped(ctx, id, legName, order, store.StatusCancelled)
			} else {
				jr = r.runLeg(legCtx, j, legName, leg.Values, lc, order, i)
			}
			results[i] = jr
			// continue-on-error on the job (it may use matrix values):
			// the leg shows its failure, the job and the run go on.
			if jr.Status == store.StatusFailure && j.ContinueOnError.Set && boolValue(j.ContinueOnError.Value, &expr.Context{Contexts: lc}) {
				jr.continued = true
			}
			if jr.Status == store.StatusFailure && !jr.continued {
				mu.Lock()
				failed = true
				mu.Unlock()
				if failFast {
					cancelLegs()
				}
			}
		}()
	}
	wg.Wait()
	agg := store.StatusSuccess
	outputs := map[string]string{}
	for _, jr := range results {
		switch {
		case jr.continued:
		case jr.Status == store.StatusFailure:
			agg = store.StatusFailure
		case jr.Status == store.StatusCancelled:
			if agg == store.StatusSuccess {
				agg = store.StatusCancelled
			}
		}
		maps.Copy(outputs, jr.Outputs)
	}
	finish(agg, outputs)
}

func filterLegs(legs []plan.Leg, f map[string]string) []plan.Leg {
	if len(f) == 0 {
		return legs
	}
	var out []plan.Leg
	for _, l := range legs {
		ok := true
		for k, want := range f {
			if v, has := l.Values[k]; has && expr.ToString(v) != want {
				ok = false
			}
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

func (r *run) addLeg(jr *JobResult) {
	r.mu.Lock()
	r.legs = append(r.legs, jr)
	r.mu.Unlock()
}

// recordSkipped records a job (or leg) that did not run.
func (r *run) recordSkipped(ctx context.Context, id, name string, order int, status string) {
	jr := &JobResult{JobID: id, Name: name, Status: status, order: order, leg: 0}
	if r.opts.Runs != nil {
		now := time.Now()
		rec := &store.Job{RunID: r.id, Key: id, Name: r.uniqueName(name), Status: status, FinishedAt: &now}
		r.write(func(ctx context.Context, runs *store.Runs) { runs.AddJob(ctx, rec) })
	}
	r.addLeg(jr)
	r.emit(Event{Type: "job_finished", Job: name, JobID: id, Status: status})
}

// jobError records a job that failed before any step (a bad `if:` or matrix).
func (r *run) jobError(ctx context.Context, id, name string, order int, msg string) {
	jr := &JobResult{JobID: id, Name: name, Status: store.StatusFailure, order: order}
	if r.opts.Runs != nil {
		now := time.Now()
		rec := &store.Job{RunID: r.id, Key: id, Name: r.uniqueName(name), Status: store.StatusFailure, StartedAt: &now, FinishedAt: &now}
		masked := r.masker.Mask(msg)
		r.write(func(ctx context.Context, runs *store.Runs) {
			if _, err := runs.AddJob(ctx, rec); err == nil {
				runs.AddAnnotation(ctx, &store.Annotation{JobID: rec.ID, Level: "error", Message: masked})
				runs.AppendLogs(ctx, rec.ID, []store.LogLine{{Time: now, Text: "Error: " + masked}})
			}
		})
	}
	r.addLeg(jr)
	r.emit(Event{Type: "annotation", Job: name, JobID: id, Level: "error", Text: r.masker.Mask(msg)})
	r.emit(Event{Type: "job_finished", Job: name, JobID: id, Status: store.StatusFailure})
}

// uniqueName makes job display names unique within the run for the store
// (two jobs may share a name:).
func (r *run) uniqueName(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string]int{}
	}
	r.names[name]++
	if n := r.names[name]; n > 1 {
		return name + " #" + strconv.Itoa(n)
	}
	return name
}

var _ = json.Marshal

// boolValue reads a boolean key (fail-fast, continue-on-error): the words
// true and false, or an expression.
func boolValue(s string, ec *expr.Context) bool {
	switch strings.TrimSpace(s) {
	case "true":
		return true
	case "false", "":
		return false
	}
	v, err := expr.Value(s, ec)
	if err != nil {
		return false
	}
	if str, ok := v.(string); ok {
		return str == "true"
	}
	return expr.Truthy(v)
}
