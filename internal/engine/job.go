package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shipgate/shipgate/internal/executor"
	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
)

// ProcDirName is the folder under a run's temp dir (.shipgate/tmp/<run>)
// where the executor records the process groups it started.
const ProcDirName = "procs"

// DefaultJobTimeout is GitHub's default timeout-minutes for a job.
const DefaultJobTimeout = 360 * time.Minute

// leg is the running state of one job leg.
type leg struct {
	r        *run
	job      *workflow.Job
	name     string
	contexts map[string]any // github, inputs, vars, secrets, runner, needs, matrix, strategy
	baseEnv  map[string]string
	env      map[string]string // from GITHUB_ENV (and ::set-env::)
	path     []string          // from GITHUB_PATH, most recent first
	exJob    *executor.Job
	rec      *store.Job // its store record (ID set by the writer); nil without a store
	jobCtx   context.Context
	seq      int // step file counter

	mu    sync.Mutex
	logs  []store.LogLine
	posts []func(ctx context.Context, ok bool) error
	steps []*StepResult
	// topSteps is the job's own steps context (for job outputs).
	topSteps map[string]any
}

// scope is a list of steps being run: the job's own, or a composite
// action's, each with its own steps context and status.
type scope struct {
	steps      map[string]any
	status     string
	inputs     map[string]any
	env        map[string]string
	actionPath string
	depth      int
	index      int // the top-level step index logs and records go to
}

func (r *run) runLeg(ctx context.Context, j *workflow.Job, name string, matrix map[string]any, contexts map[string]any, order, legIdx int) *JobResult {
	start := time.Now()
	jr := &JobResult{JobID: j.ID, Name: name, Matrix: matrix, Status: store.StatusSuccess, order: order, leg: legIdx}
	l := &leg{r: r, job: j, name: name, contexts: contexts, env: map[string]string{}}
	if r.opts.Runs != nil {
		m, _ := json.Marshal(matrix)
		rec := &store.Job{RunID: r.id, Key: j.ID, Name: r.uniqueName(name), Matrix: m, Status: store.StatusRunning, StartedAt: &start}
		l.rec = rec
		r.write(func(ctx context.Context, runs *store.Runs) { runs.AddJob(ctx, rec) })
	}
	r.emit(Event{Type: "job_started", Job: name, JobID: j.ID})

	timeout := DefaultJobTimeout
	if j.TimeoutMinutes.Set {
		if v, err := expr.Value(j.TimeoutMinutes.Value, &expr.Context{Contexts: contexts}); err == nil {
			if m := expr.ToNumber(v); m > 0 {
				timeout = time.Duration(m * float64(time.Minute))
			}
		}
	}
	jobCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	l.jobCtx = jobCtx

	l.exJob = &executor.Job{ID: name, Workspace: r.opts.Workspace, TempDir: filepath.Join(r.tempDir, fmt.Sprintf("%d-%d", order, legIdx)),
		ProcDir: filepath.Join(r.tempDir, ProcDirName), Run: strconv.FormatInt(r.id, 10), RunsOn: runsOn(j, contexts)}
	status := store.StatusSuccess
	// The engine writes scripts and command files into TempDir itself.
	if err := os.MkdirAll(l.exJob.TempDir, 0o755); err != nil {
		l.log(0, "Error: "+err.Error())
		status = store.StatusFailure
	} else if err := l.containerSpec(); err != nil {
		l.log(0, "Error: "+err.Error())
		r.annotate(l, 0, "error", err.Error())
		status = store.StatusFailure
	} else if err := r.opts.Executor.Setup(jobCtx, l.exJob); err != nil {
		l.log(0, "Error: setting up the job: "+err.Error())
		status = store.StatusFailure
		if ctx.Err() != nil {
			// Cancelled while the executor was starting containers.
			status = store.StatusCancelled
		}
	} else {
		defer func() {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := r.opts.Executor.Teardown(tctx, l.exJob); err != nil {
				l.log(len(j.Steps), "Warning: tearing down the job: "+err.Error())
			}
			l.flush(context.WithoutCancel(ctx))
		}()
		status = l.runAll(ctx)
	}
	jr.Steps = l.steps
	if jobCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		l.log(len(j.Steps), fmt.Sprintf("Error: the job ran longer than its timeout of %v and was cancelled", timeout))
		r.annotate(l, len(j.Steps), "error", fmt.Sprintf("The job %s exceeded the maximum execution time of %v", name, timeout))
		status = store.StatusFailure
	}

	// Job outputs, from the steps context.
	ec := l.exprContext(&scope{steps: l.topSteps, status: status}, nil)
	outputs := map[string]string{}
	for _, kv := range j.Outputs {
		v, err := expr.Interpolate(kv.Value.Value, ec)
		if err != nil {
			l.log(len(j.Steps), fmt.Sprintf("Warning: output %s: %v", kv.Key, err))
			continue
		}
		outputs[kv.Key] = r.masker.Mask(v)
	}
	// Post actions (cache save), last first.
	for i := len(l.posts) - 1; i >= 0; i-- {
		pctx, cancel := context.WithTimeout(r.hardCtx, 10*time.Minute)
		if err := l.posts[i](pctx, status == store.StatusSuccess); err != nil {
			l.log(len(j.Steps), "Warning: post step: "+err.Error())
		}
		cancel()
	}
	jr.Status, jr.Outputs, jr.Elapsed = status, outputs, time.Since(start)
	if rec := l.rec; rec != nil {
		now := time.Now()
		lines := l.takeLogs()
		r.write(func(ctx context.Context, runs *store.Runs) {
			runs.FinishJob(ctx, &store.Job{ID: rec.ID, Status: status, Outputs: outputs, StartedAt: &start, FinishedAt: &now}, lines)
		})
	}
	r.addLeg(jr)
	r.emit(Event{Type: "job_finished", Job: name, JobID: j.ID, Status: status, Elapsed: jr.Elapsed.Seconds(), Outputs: outputs})
	return jr
}

// runAll evaluates workflow and job env, then runs the job's steps.
func (l *leg) runAll(ctx context.Context) string {
	r, j := l.r, l.job
	ec := &expr.Context{Contexts: l.contexts, HashFiles: r.hashFiles}
	l.baseEnv = maps.Clone(r.opts.Env)
	if l.baseEnv == nil {
		l.baseEnv = map[string]string{}
	}
	for _, kv := range r.opts.Workflow.Env {
		v, err := expr.Interpolate(kv.Value.Value, ec)
		if err != nil {
			l.log(0, fmt.Sprintf("Error: %s: env %s: %v", kv.Value.Pos, kv.Key, err))
			return store.StatusFailure
		}
		l.baseEnv[kv.Key] = v
	}
	ec.Contexts = maps.Clone(l.contexts)
	ec.Contexts["env"] = anyMap(l.baseEnv)
	for _, kv := range j.Env {
		v, err := expr.Interpolate(kv.Value.Value, ec)
		if err != nil {
			l.log(0, fmt.Sprintf("Error: %s: env %s: %v", kv.Value.Pos, kv.Key, err))
			return store.StatusFailure
		}
		l.baseEnv[kv.Key] = v
	}
	top := &scope{steps: map[string]any{}, status: store.StatusSuccess}
	l.topSteps = top.steps
	for i, s := range j.Steps {
		top.index = i
		l.runStep(ctx, s, top, i)
	}
	return top.status
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// mergedEnv is the env context and process variables for a step, in
// GitHub's order: workflow < job < GITHUB_ENV < composite step < step.
func (l *leg) mergedEnv(sc *scope) map[string]string {
	env := maps.Clone(l.baseEnv)
	l.mu.Lock()
	maps.Copy(env, l.env)
	l.mu.Unlock()
	maps.Copy(env, sc.env)
	return env
}

// exprContext is what a step's expressions see.
func (l *leg) exprContext(sc *scope, env map[string]string) *expr.Context {
	c := maps.Clone(l.contexts)
	if env == nil {
		env = l.mergedEnv(sc)
	}
	c["env"] = anyMap(env)
	c["steps"] = sc.steps
	ctr, services := l.jobContainerContext()
	c["job"] = map[string]any{"status": sc.status, "container": ctr, "services": services}
	if sc.inputs != nil {
		c["inputs"] = sc.inputs
	}
	cancelled := l.r.isCancelled() || l.jobCtx.Err() != nil
	return &expr.Context{Contexts: c, HashFiles: l.r.hashFiles,
		Status: statusFuncs{ok: sc.status == store.StatusSuccess, failed: sc.status == store.StatusFailure, cancelled: cancelled}}
}

// log appends a masked line to the job's log and emits it.
func (l *leg) log(step int, text string) {
	text = l.r.masker.Mask(text)
	l.mu.Lock()
	l.logs = append(l.logs, store.LogLine{Step: step, Time: time.Now(), Text: text})
	n := len(l.logs)
	l.mu.Unlock()
	l.r.emit(Event{Type: "log", Job: l.name, JobID: l.job.ID, Text: text})
	if n >= 500 {
		l.flush(context.Background())
	}
}

// takeLogs returns the buffered log lines and empties the buffer.
func (l *leg) takeLogs() []store.LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.logs
	l.logs = nil
	return lines
}

func (l *leg) flush(ctx context.Context) {
	lines := l.takeLogs()
	if rec := l.rec; rec != nil && len(lines) > 0 {
		l.r.write(func(ctx context.Context, runs *store.Runs) { runs.AppendLogs(ctx, rec.ID, lines) })
	}
}

func (r *run) annotate(l *leg, step int, level, msg string) {
	msg = r.masker.Mask(msg)
	if rec := l.rec; rec != nil {
		r.write(func(ctx context.Context, runs *store.Runs) {
			runs.AddAnnotation(ctx, &store.Annotation{JobID: rec.ID, Step: step, Level: level, Message: msg})
		})
	}
	r.emit(Event{Type: "annotation", Job: l.name, JobID: l.job.ID, Level: level, Text: msg})
}

// processEnv is a step process's environment: the host's (as on a
// self-hosted runner), GitHub's default variables, the merged env, the
// command files, and PATH with GITHUB_PATH entries first.
//
// onHost is for a process that runs on this machine even in a container
// job (built-in actions).
func (l *leg) processEnv(env map[string]string, sc *scope, stepKey string, files map[string]string, onHost bool) []string {
	r := l.r
	m := map[string]string{}
	// In a job container the container's own environment applies instead
	// of this machine's.
	inContainer := l.exJob.Container != nil && !onHost
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && !inContainer {
			m[k] = v
		}
	}
	gh, _ := l.contexts["github"].(map[string]any)
	g := func(k string) string { return str(gh[k]) }
	defaults := map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true",
		"GITHUB_WORKSPACE": r.opts.Workspace, "GITHUB_RUN_ID": g("run_id"), "GITHUB_RUN_NUMBER": g("run_number"),
		"GITHUB_RUN_ATTEMPT": g("run_attempt"), "GITHUB_JOB": l.job.ID, "GITHUB_EVENT_NAME": g("event_name"),
		"GITHUB_EVENT_PATH": r.eventPath(), "GITHUB_SHA": g("sha"), "GITHUB_REF": g("ref"), "GITHUB_REF_NAME": g("ref_name"),
		"GITHUB_REF_TYPE": g("ref_type"), "GITHUB_REPOSITORY": g("repository"), "GITHUB_REPOSITORY_OWNER": g("repository_owner"),
		"GITHUB_ACTOR": g("actor"), "GITHUB_TRIGGERING_ACTOR": g("actor"), "GITHUB_WORKFLOW": g("workflow"), "GITHUB_SERVER_URL": g("server_url"),
		"GITHUB_API_URL": g("api_url"), "GITHUB_GRAPHQL_URL": g("graphql_url"), "GITHUB_HEAD_REF": g("head_ref"),
		"GITHUB_BASE_REF": g("base_ref"), "GITHUB_ACTION": stepKey, "GITHUB_RETENTION_DAYS": g("retention_days"),
		"RUNNER_OS": "Linux", "RUNNER_ARCH": str(r.runnerContext()["arch"]), "RUNNER_NAME": "shipgate-host",
		"RUNNER_ENVIRONMENT": "self-hosted", "RUNNER_TEMP": l.exJob.TempDir, "RUNNER_TOOL_CACHE": r.toolCache(),
	}
	if sc.actionPath != "" {
		defaults["GITHUB_ACTION_PATH"] = sc.actionPath
	}
	maps.Copy(m, defaults)
	maps.Copy(m, env)
	maps.Copy(m, files)
	// The shipgate binary running this workflow is on the PATH of its
	// steps (after GITHUB_PATH entries), so `run: shipgate ...` uses the
	// same binary as `uses: shipgate/<gate>@v1`.
	if r.opts.Self != "" && !inContainer {
		if dir := filepath.Dir(r.opts.Self); !slices.Contains(filepath.SplitList(m["PATH"]), dir) {
			m["PATH"] = dir + string(os.PathListSeparator) + m["PATH"]
		}
	}
	l.mu.Lock()
	if len(l.path) > 0 {
		// In a container an empty tail stands for the container's PATH.
		m["PATH"] = strings.Join(l.path, string(os.PathListSeparator)) + string(os.PathListSeparator) + m["PATH"]
	}
	l.mu.Unlock()
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// eventPath writes github.event to a file once per run (GITHUB_EVENT_PATH).
func (r *run) eventPath() string {
	p := filepath.Join(r.tempDir, "event.json")
	r.eventOnce.Do(func() {
		payload := r.opts.EventPayload
		if payload == nil {
			payload = map[string]any{}
		}
		b, _ := json.MarshalIndent(payload, "", "  ")
		os.WriteFile(p, b, 0o644)
	})
	return p
}

func itoa(i int) string { return strconv.Itoa(i) }

// runsOn evaluates the job's runs-on labels (a list, or one expression
// giving a label or a list); labels that do not evaluate are left out.
func runsOn(j *workflow.Job, contexts map[string]any) []string {
	ec := &expr.Context{Contexts: contexts}
	var out []string
	for _, l := range j.RunsOn {
		if v, err := expr.Interpolate(l.Value, ec); err == nil && v != "" {
			out = append(out, v)
		}
	}
	if j.RunsOnExpr.Value != "" {
		if v, err := expr.Value(j.RunsOnExpr.Value, ec); err == nil {
			switch v := v.(type) {
			case string:
				out = append(out, v)
			case []any:
				for _, e := range v {
					if s, ok := e.(string); ok {
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}
