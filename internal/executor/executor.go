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
// killed whole on timeout or cancel), container (the Docker Engine API: Setup
// starts the job's container and services on a per-job network, Exec runs
// the step's argv inside the container, Teardown removes them) and fake (a
// strict double for engine tests). A Kubernetes executor plugs in behind the
// same interface.
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

	// Run identifies the run the job belongs to. Executors that create
	// things outside this process (containers, networks, Pods) label them
	// with it so leftovers can be garbage-collected.
	Run string
	// RunsOn are the job's runs-on labels, evaluated (an executor that
	// places jobs, such as kubernetes, picks the job's Pod by them).
	RunsOn []string
	// Mounts are more host paths (files or folders) the job's steps read by
	// their host path besides Workspace and TempDir (GITHUB_EVENT_PATH). An
	// executor that runs steps in a container bind-mounts each at the same
	// path; the host executor ignores them.
	Mounts []string
	// Container is the job's `container:`; nil runs the steps on the host.
	Container *Container
	// Services are the job's `services:`, in ID order.
	Services []*Service

	// State is for the executor's private bookkeeping.
	State any
}

// Container is a container a job asks for, its `container:` or one of its
// `services:`, with every expression evaluated. Setup fills the fields
// after Options with what it started.
type Container struct {
	// Image is the image reference; it must exist where the containers run
	// (nothing is pulled).
	Image string
	// Env is the container's environment.
	Env map[string]string
	// Ports are `ports:` entries ("8080:80", "80", "127.0.0.1:8080:80/tcp").
	Ports []string
	// Volumes are `volumes:` entries ("/host:/ctr", "name:/ctr", "/ctr").
	Volumes []string
	// Options are `options:`, docker-create flags as one string.
	Options string
	// Username and Password are `credentials:` (registry login).
	Username, Password string

	// ContainerID is the container's ID once started.
	ContainerID string
	// Network is the network the container was attached to.
	Network string
	// HostPorts maps a container port ("80/tcp" and "80") to the host port
	// it was published on (job.services.<id>.ports).
	HostPorts map[string]string
}

// Service is one entry of a job's `services:`.
type Service struct {
	// ID is the service's key; it is also its host name on the job's network.
	ID string
	Container
}

// Containers is implemented by executors that run `container:` and
// `services:` (the workflow loader rejects them for the others).
type Containers interface {
	// SupportsContainers reports whether the executor runs container jobs.
	SupportsContainers() bool
	// LookPath reports whether program is found in the PATH of the job's
	// container (the default shell is bash when it is, else sh).
	LookPath(ctx context.Context, job *Job, program string) bool
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
	// OnHost runs the step on this machine even when the job has a
	// container (built-in actions that call host tools, such as the
	// shipgate binary itself). Host-only executors ignore it.
	OnHost bool
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
