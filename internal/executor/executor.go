// Package executor is where a step runs. The engine drives every executor
// through one small lifecycle, ctx first:
//
//	Setup(ctx, job)          once, before the job's first step
//	Exec(ctx, job, step)     once per step, in order, never after Teardown
//	Teardown(ctx, job)       once, always, even when the run was cancelled
//
// Teardown is given a context that outlives the run's cancellation (the
// engine derives it from context.WithoutCancel plus a deadline), so clean-up
// still happens after Ctrl-C.
//
// Implementations: host (this machine; each step a process group that is
// killed whole on timeout or cancel) and fake (a strict double for engine
// tests). Container and Kubernetes executors plug in behind the same
// interface: Setup would create the container or Pod for the job, Exec would
// run the step's argv inside it, Teardown would remove it.
package executor

import (
	"context"
	"io"
	"time"
)

// Executor runs the steps of jobs. One Executor serves many jobs at once;
// per-job state lives in the Job handle.
type Executor interface {
	// Name is the executor's name as users select it ("host").
	Name() string
	// Setup prepares the job's environment (directories, containers).
	Setup(ctx context.Context, job *Job) error
	// Exec runs one step to completion and reports how it ended. An error
	// means the step could not be started at all (for example the shell is
	// missing); a step that ran and failed is a Result with a non-zero
	// ExitCode.
	Exec(ctx context.Context, job *Job, step *Step) (*Result, error)
	// Teardown releases everything Setup and Exec made: no process of the
	// job survives it. ctx is not cancelled by the run's cancellation.
	Teardown(ctx context.Context, job *Job) error
}

// Job identifies one job (one matrix leg) to the executor.
type Job struct {
	// ID is unique within the run ("build (linux, 1.22)").
	ID string
	// Workspace is the working directory steps start in by default.
	Workspace string
	// TempDir is RUNNER_TEMP for this job; Setup creates it.
	TempDir string
	// ProcDir, when set, is where the executor records what it starts
	// (the host executor: one file per process group), so that a later
	// process can clean up after this one was killed (see host.Reap).
	ProcDir string

	// State is for the executor's private bookkeeping.
	State any
}

// Step is one process to run.
type Step struct {
	// ID names the step in errors.
	ID string
	// Argv is the program and its arguments (argv[0] looked up in PATH of Env).
	Argv []string
	// Dir is the working directory; empty means the job's workspace.
	Dir string
	// Env is the complete environment, "KEY=value".
	Env []string
	// Stdin, when set, is the process's standard input.
	Stdin io.Reader
	// Stdout and Stderr receive the output; they may be the same writer.
	Stdout, Stderr io.Writer
	// Timeout bounds the step; zero means none.
	Timeout time.Duration
	// Grace is how long after SIGTERM the process group gets before
	// SIGKILL; zero means DefaultGrace.
	Grace time.Duration
}

// DefaultGrace is the time between SIGTERM and SIGKILL.
const DefaultGrace = 5 * time.Second

// Result is how a step ended.
type Result struct {
	// ExitCode is the process's exit status; -1 when killed by a signal.
	ExitCode int
	// TimedOut is set when the step's Timeout expired.
	TimedOut bool
	// Cancelled is set when ctx was cancelled while the step ran.
	Cancelled bool
	// Duration is the wall time from start to exit.
	Duration time.Duration
}

// Success reports whether the step exited 0 on its own.
func (r *Result) Success() bool {
	return r.ExitCode == 0 && !r.TimedOut && !r.Cancelled
}
