// Package fake is a strict in-memory executor for engine tests. It runs no
// processes: each step's result comes from a function the test supplies. It
// fails the test when the engine calls the lifecycle out of order: Exec
// before Setup or after Teardown, Setup or Teardown twice, or a job left
// without Teardown (checked by Verify).
package fake

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/shipgate/shipgate/internal/executor"
)

// TB is the part of testing.TB the fake needs.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// Executor is the fake. The zero value is not usable; call New.
type Executor struct {
	t TB
	// Run decides each step's result; nil means every step exits 0. It may
	// write to step.Stdout and to the files named in step.Env.
	Run func(ctx context.Context, job *executor.Job, step *executor.Step) *executor.Result

	mu    sync.Mutex
	state map[string]string // job ID -> "setup" | "torndown"
	calls []string
}

// New returns a fake that reports lifecycle errors to t.
func New(t TB) *Executor {
	return &Executor{t: t, state: map[string]string{}}
}

// Name is "fake".
func (e *Executor) Name() string { return "fake" }

// Setup records the job; a second Setup of the same job is an error.
func (e *Executor) Setup(ctx context.Context, job *executor.Job) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, "setup "+job.ID)
	if s, ok := e.state[job.ID]; ok {
		e.t.Helper()
		e.t.Errorf("fake executor: Setup(%q) called again (state %s)", job.ID, s)
	}
	e.state[job.ID] = "setup"
	return nil
}

// Exec runs the test's Run function for a set-up, not torn-down job.
func (e *Executor) Exec(ctx context.Context, job *executor.Job, step *executor.Step) (*executor.Result, error) {
	e.mu.Lock()
	e.calls = append(e.calls, "exec "+job.ID+" "+step.ID)
	s := e.state[job.ID]
	e.mu.Unlock()
	if s != "setup" {
		e.t.Helper()
		e.t.Errorf("fake executor: Exec(%q, %q) in state %q (want after Setup, before Teardown)", job.ID, step.ID, s)
		return nil, fmt.Errorf("fake: job %s not set up", job.ID)
	}
	if e.Run == nil {
		return &executor.Result{}, nil
	}
	return e.Run(ctx, job, step), nil
}

// Teardown marks the job torn down; it must follow Setup exactly once.
func (e *Executor) Teardown(ctx context.Context, job *executor.Job) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, "teardown "+job.ID)
	if s := e.state[job.ID]; s != "setup" {
		e.t.Helper()
		e.t.Errorf("fake executor: Teardown(%q) in state %q (want once, after Setup)", job.ID, s)
	}
	if ctx.Err() != nil {
		e.t.Helper()
		e.t.Errorf("fake executor: Teardown(%q) got a cancelled context; it must outlive cancellation", job.ID)
	}
	e.state[job.ID] = "torndown"
	return nil
}

// Calls is the log of lifecycle calls in order ("setup J", "exec J S",
// "teardown J").
func (e *Executor) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// Verify fails the test for every job that was set up but never torn down.
func (e *Executor) Verify() {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(e.state))
	for id, s := range e.state {
		if s != "torndown" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		e.t.Helper()
		e.t.Errorf("fake executor: job %q was never torn down", id)
	}
}

var _ executor.Executor = (*Executor)(nil)
