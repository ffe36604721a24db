// Package engine runs a workflow's job graph on an executor, recording
// everything in the store.
//
// The flow of one run (Run):
//
//  1. plan: plan.Build gives the jobs for the event (and -j filter) in
//     dependency order; a cycle or unknown need is an input error.
//  2. schedule: every job waits only for its own needs, then evaluates its
//     `if:`, expands its matrix (plan.ExpandMatrix, now that needs outputs
//     are known) and runs its legs, at most Options.Parallel legs at once
//     in the whole run and strategy.max-parallel per job, with fail-fast.
//  3. each leg (job.go): executor Setup, steps in order (step.go: `if:`
//     with status functions, env precedence, run scripts through steprun,
//     built-in and composite actions), job outputs, post actions, Teardown
//     with a context that outlives cancellation.
//  4. record: runs, jobs, steps, masked logs, annotations, summaries in the
//     store; events to the terminal through Options.Sink.
//
// Cancellation (Ctrl-C) cancels the context given to Run: running steps get
// SIGTERM then SIGKILL, later steps see cancelled() and only those whose
// `if:` asks for always() or cancelled() still run, under Options.HardCtx.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/engine/steprun"
	"github.com/shipgate/shipgate/internal/executor"
	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/plan"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
)

// Options configure one run.
type Options struct {
	Workflow *workflow.Workflow
	// WorkflowPath is recorded with the run (for rerun).
	WorkflowPath string
	Event        plan.Event
	// EventPayload is github.event (from --eventpath); nil means {}.
	EventPayload map[string]any
	// GitHub is the base github context (sha, ref, repository, actor, ...),
	// built by the caller from the local repository.
	GitHub map[string]any
	// Only restricts the run to these jobs and what they need.
	Only []string
	// MatrixFilter keeps only legs whose matrix values match (--matrix k:v).
	MatrixFilter map[string]string
	Secrets      map[string]string
	Vars         map[string]string
	// Env is extra env for every step, below the workflow's own env
	// (--env-file, as act's .env).
	Env map[string]string
	// Parallel is the most legs running at once; <= 0 means the CPU count.
	Parallel int
	// Workspace is GITHUB_WORKSPACE (the repository root).
	Workspace string
	// StateDir is .shipgate (artifacts, cache, temp).
	StateDir string
	Executor executor.Executor
	// Runs records the run; nil records nothing.
	Runs *store.Runs
	// Sink receives progress events, one call at a time.
	Sink func(Event)
	// HardCtx bounds steps that run after cancellation (always()); nil
	// means context.Background(). Cancel it on a second Ctrl-C.
	HardCtx context.Context
	// Grace is the time between SIGTERM and SIGKILL; zero is the executor's default.
	Grace time.Duration
	// DryRun plans and walks the graph without executing steps.
	DryRun bool
	// Reuse holds results of jobs from an earlier run that a rerun takes as
	// they were instead of running them again (job ID -> result).
	Reuse map[string]*ReusedJob
	// ArtifactRuns are earlier runs whose artifacts downloads can see.
	ArtifactRuns []int64
	// RerunOf and Params are recorded with the run.
	RerunOf int64
	Params  json.RawMessage
	// Self is the shipgate binary for shipgate/<gate> actions.
	Self string
	// EnvironmentGate, when set, is called before a job with `environment:`
	// starts (after its `if:`), with the job ID and the evaluated
	// environment name; the job waits until it returns. An error fails the
	// job with that message (cancelled when ctx was cancelled). nil: no gate.
	EnvironmentGate func(ctx context.Context, jobID, environment string) error
}

// ReusedJob is a job result carried into a rerun.
type ReusedJob struct {
	Result  string
	Outputs map[string]string
}

// Event is one progress event. Type is one of run_started, job_queued,
// job_started, step_started, log, annotation, debug, group, step_finished,
// job_finished, run_finished.
type Event struct {
	Type    string            `json:"type"`
	Time    time.Time         `json:"time"`
	RunID   int64             `json:"run_id,omitempty"`
	Job     string            `json:"job,omitempty"`
	JobID   string            `json:"job_id,omitempty"`
	Step    string            `json:"step,omitempty"`
	Status  string            `json:"status,omitempty"`
	Text    string            `json:"text,omitempty"`
	Level   string            `json:"level,omitempty"`
	File    string            `json:"file,omitempty"`
	Line    int               `json:"line,omitempty"`
	Col     int               `json:"col,omitempty"`
	Total   int               `json:"total,omitempty"`
	Elapsed float64           `json:"elapsed_seconds,omitempty"`
	Outputs map[string]string `json:"outputs,omitempty"`
}

// Result is how a run ended.
type Result struct {
	RunID  int64
	Status string // success, failure or cancelled
	// Jobs in plan order (matrix legs in leg order).
	Jobs      []*JobResult
	Summaries []store.Summary
	Elapsed   time.Duration
}

// JobResult is one job leg's outcome.
type JobResult struct {
	JobID   string            `json:"job"`
	Name    string            `json:"name"`
	Matrix  map[string]any    `json:"matrix,omitempty"`
	Status  string            `json:"status"`
	Outputs map[string]string `json:"outputs,omitempty"`
	Elapsed time.Duration     `json:"elapsed"`
	Steps   []*StepResult     `json:"steps,omitempty"`
	Reused  bool              `json:"reused,omitempty"`
	// continued is set for a failed leg of a job with continue-on-error.
	continued bool
	order     int
	leg       int
}

// StepResult is one step's outcome.
type StepResult struct {
	Name       string `json:"name"`
	ID         string `json:"id,omitempty"`
	Outcome    string `json:"outcome"`
	Conclusion string `json:"conclusion"`
}

// InputError is a problem with the workflow or the options found before
// anything ran (exit 2).
type InputError struct{ Diags []diag.Diagnostic }

// Error lists the diagnostics, one a line, as file:line:col: message [rule].
func (e *InputError) Error() string {
	var b strings.Builder
	for i, d := range e.Diags {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %s [%s]", d.Pos, d.Message, d.Rule)
	}
	return b.String()
}

// run is the state of one run.
type run struct {
	opts    Options
	id      int64
	masker  *steprun.Masker
	graph   *plan.Graph
	sem     chan struct{}
	hardCtx context.Context
	tempDir string
	start   time.Time

	sinkMu sync.Mutex

	mu        sync.Mutex
	done      map[string]chan struct{} // job ID -> closed when finished
	results   map[string]*jobOutcome   // job ID -> aggregate
	legs      []*JobResult
	summaries []store.Summary
	ctx       context.Context
	writes    chan func(context.Context, *store.Runs)
	writer    sync.WaitGroup
	names     map[string]int
	eventOnce sync.Once
}

// jobOutcome is a job's aggregate result (over its legs) as needs.<id> sees it.
type jobOutcome struct {
	Result  string
	Outputs map[string]string
}

func (r *run) emit(e Event) {
	if r.opts.Sink == nil {
		return
	}
	e.Time = time.Now()
	e.RunID = r.id
	r.sinkMu.Lock()
	defer r.sinkMu.Unlock()
	r.opts.Sink(e)
}

// Run executes the workflow. The error is an *InputError for bad input (the
// run did not start) or a store/executor failure; a run whose jobs failed
// returns a Result with Status "failure" and a nil error.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Executor == nil {
		return nil, errors.New("engine: no executor")
	}
	if opts.Parallel <= 0 {
		opts.Parallel = runtime.NumCPU()
	}
	if opts.HardCtx == nil {
		opts.HardCtx = context.Background()
	}
	if opts.Workspace == "" {
		opts.Workspace, _ = os.Getwd()
	}
	if opts.StateDir == "" {
		opts.StateDir = filepath.Join(opts.Workspace, store.DefaultDir)
	}
	r := &run{opts: opts, sem: make(chan struct{}, opts.Parallel), hardCtx: opts.HardCtx,
		done: map[string]chan struct{}{}, results: map[string]*jobOutcome{}, start: time.Now()}
	var secretValues []string
	for _, v := range opts.Secrets {
		secretValues = append(secretValues, v)
	}
	r.masker = steprun.NewMasker(secretValues...)

	// 1. plan: inputs, then the job graph.
	if _, ds := plan.Inputs(opts.Workflow, opts.Event); diag.HasErrors(ds) {
		return nil, &InputError{Diags: ds}
	}
	base := r.baseContext()
	g, ds := plan.Build(opts.Workflow, opts.Event, &expr.Context{Contexts: base}, opts.Only)
	if diag.HasErrors(ds) {
		return nil, &InputError{Diags: ds}
	}
	r.graph = g

	// Record the run.
	if opts.Runs != nil {
		run := &store.Run{Workflow: opts.WorkflowPath, WorkflowName: opts.Workflow.Name.Value, Event: opts.Event.Name,
			Ref: str(opts.GitHub["ref"]), SHA: str(opts.GitHub["sha"]), Params: opts.Params, RerunOf: opts.RerunOf}
		id, err := opts.Runs.CreateRun(context.WithoutCancel(ctx), run)
		if err != nil {
			return nil, err
		}
		r.id = id
		// Records are written by one goroutine, in order, off the jobs'
		// critical path; Run waits for it before finishing the run.
		r.writes = make(chan func(context.Context, *store.Runs), 4096)
		r.writer.Add(1)
		go func() {
			defer r.writer.Done()
			for fn := range r.writes {
				fn(context.Background(), opts.Runs)
			}
		}()
	} else {
		r.id = time.Now().UnixNano() / 1e6
	}
	r.tempDir = filepath.Join(opts.StateDir, "tmp", strconv.FormatInt(r.id, 10))
	if err := os.MkdirAll(r.tempDir, 0o755); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	defer os.RemoveAll(r.tempDir)
	r.emit(Event{Type: "run_started", Total: len(g.Order), Text: opts.Workflow.Name.Value})
	for _, id := range g.Order {
		// Every job is queued from the start; matrix legs get their own
		// names when they start.
		r.emit(Event{Type: "job_queued", JobID: id, Job: plan.JobName(opts.Workflow.Job(id), nil, &expr.Context{Contexts: base})})
	}

	// 2. schedule: one goroutine per job, each waiting for its own needs.
	for _, id := range g.Order {
		r.done[id] = make(chan struct{})
	}
	r.ctx = ctx
	var wg sync.WaitGroup
	for i, id := range g.Order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(r.done[id])
			r.runJob(ctx, id, i)
		}()
	}
	wg.Wait()
	if c, ok := opts.Executor.(interface{ Close() error }); ok {
		c.Close()
	}

	// 4. result.
	res := &Result{RunID: r.id, Status: store.StatusSuccess, Elapsed: time.Since(r.start)}
	slices.SortStableFunc(r.legs, func(a, b *JobResult) int {
		if a.order != b.order {
			return a.order - b.order
		}
		return a.leg - b.leg
	})
	res.Jobs = r.legs
	for _, id := range g.Order {
		switch r.results[id].Result {
		case store.StatusFailure:
			res.Status = store.StatusFailure
		case store.StatusCancelled:
			if res.Status == store.StatusSuccess {
				res.Status = store.StatusCancelled
			}
		}
	}
	if r.isCancelled() && res.Status == store.StatusSuccess {
		res.Status = store.StatusCancelled
	}
	// Summaries in job order, then step order: deterministic output.
	pos := map[string]int{}
	for i, j := range res.Jobs {
		pos[j.Name] = i
	}
	slices.SortStableFunc(r.summaries, func(a, b store.Summary) int {
		if pos[a.Job] != pos[b.Job] {
			return pos[a.Job] - pos[b.Job]
		}
		return a.Step - b.Step
	})
	res.Summaries = r.summaries
	if opts.Runs != nil {
		close(r.writes)
		r.writer.Wait()
		if err := opts.Runs.FinishRun(context.WithoutCancel(ctx), r.id, res.Status); err != nil {
			return res, err
		}
	}
	r.emit(Event{Type: "run_finished", Status: res.Status, Elapsed: res.Elapsed.Seconds()})
	return res, nil
}

// write queues a store write; fn runs on the writer goroutine, after every
// write queued before it. Nothing happens without a store.
func (r *run) write(fn func(ctx context.Context, runs *store.Runs)) {
	if r.writes != nil {
		r.writes <- fn
	}
}

// isCancelled reports whether the run was cancelled (Ctrl-C).
func (r *run) isCancelled() bool { return r.ctx.Err() != nil }

func str(v any) string {
	if v == nil {
		return ""
	}
	return expr.ToString(v)
}
