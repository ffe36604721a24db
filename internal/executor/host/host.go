// Package host is the executor that runs steps as processes on this machine,
// as a self-hosted GitHub runner does. Each step is started in its own
// process group. On a step's timeout or on cancellation the whole group gets
// SIGTERM, then SIGKILL after the grace period. Processes a step leaves in
// the background live until the job's Teardown, which kills every group the
// job started: no process outlives its run (except one that deliberately
// escapes with setsid, which no process-group executor can see).
package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shipgate/shipgate/internal/executor"
)

// Executor runs steps on the host.
type Executor struct {
	// Grace overrides executor.DefaultGrace for Teardown.
	Grace time.Duration

	mu    sync.Mutex
	procs map[string]*os.File // ProcDir -> its open, append-only record
}

// procFile is the name of the record of process groups in a ProcDir: one
// pgid a line, appended as steps start.
const procFile = "pgids"

// record appends pgid to job.ProcDir's record (one write, no new file per
// step: creating files is the largest cost of a short step).
func (e *Executor) record(dir string, pgid int) {
	if dir == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.procs[dir]
	if f == nil {
		var err error
		f, err = os.OpenFile(filepath.Join(dir, procFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return
		}
		if e.procs == nil {
			e.procs = map[string]*os.File{}
		}
		e.procs[dir] = f
	}
	f.WriteString(strconv.Itoa(pgid) + "\n")
}

// Close closes the process-group records; call it when no job runs.
func (e *Executor) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for d, f := range e.procs {
		f.Close()
		delete(e.procs, d)
	}
	return nil
}

// New returns a host executor.
func New() *Executor { return &Executor{} }

// Name is "host".
func (e *Executor) Name() string { return "host" }

type jobState struct {
	mu     sync.Mutex
	groups []int // process group ids started by the job's steps
}

// Setup creates the job's workspace (when missing) and temp directory.
func (e *Executor) Setup(ctx context.Context, job *executor.Job) error {
	if job.Workspace != "" {
		if err := os.MkdirAll(job.Workspace, 0o755); err != nil {
			return fmt.Errorf("host: workspace: %w", err)
		}
	}
	if job.TempDir != "" {
		if err := os.MkdirAll(job.TempDir, 0o755); err != nil {
			return fmt.Errorf("host: temp dir: %w", err)
		}
	}
	if job.ProcDir != "" {
		if err := os.MkdirAll(job.ProcDir, 0o755); err != nil {
			return fmt.Errorf("host: %w", err)
		}
	}
	job.State = &jobState{}
	return nil
}

// Exec runs step as a new process group and waits for it.
func (e *Executor) Exec(ctx context.Context, job *executor.Job, step *executor.Step) (*executor.Result, error) {
	st, _ := job.State.(*jobState)
	if st == nil {
		return nil, errors.New("host: Exec before Setup")
	}
	if len(step.Argv) == 0 {
		return nil, errors.New("host: empty command")
	}
	if err := ctx.Err(); err != nil {
		return &executor.Result{ExitCode: -1, Cancelled: true}, nil
	}
	path, err := lookPath(step.Argv[0], step.Env)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: path, Args: step.Argv, Env: step.Env, Stdin: step.Stdin, Stdout: step.Stdout, Stderr: step.Stderr}
	cmd.Dir = step.Dir
	if cmd.Dir == "" {
		cmd.Dir = job.Workspace
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A background process that keeps stdout open must not hang the step.
	cmd.WaitDelay = 500 * time.Millisecond
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("step %s: %w", step.ID, err)
	}
	pgid := cmd.Process.Pid
	st.mu.Lock()
	st.groups = append(st.groups, pgid)
	st.mu.Unlock()
	e.record(job.ProcDir, pgid)

	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()

	var timeout <-chan time.Time
	if step.Timeout > 0 {
		t := time.NewTimer(step.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	res := &executor.Result{}
	select {
	case <-done:
	case <-ctx.Done():
		res.Cancelled = true
	case <-timeout:
		res.TimedOut = true
	}
	if res.Cancelled || res.TimedOut {
		grace := step.Grace
		if grace == 0 {
			grace = executor.DefaultGrace
		}
		KillGroup(pgid, grace)
		<-done
	}
	res.Duration = time.Since(start)
	res.ExitCode = -1
	if ps := cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
	}
	return res, nil
}

// Teardown kills every process group the job's steps started (SIGTERM, then
// SIGKILL after the grace period) and waits until they are gone.
func (e *Executor) Teardown(ctx context.Context, job *executor.Job) error {
	st, _ := job.State.(*jobState)
	if st == nil {
		return errors.New("host: Teardown before Setup")
	}
	st.mu.Lock()
	groups := st.groups
	st.groups = nil
	st.mu.Unlock()
	grace := e.Grace
	if grace == 0 {
		grace = executor.DefaultGrace
	}
	var wg sync.WaitGroup
	for _, g := range groups {
		if len(GroupMembers(g)) == 0 {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); KillGroup(g, grace) }()
	}
	wg.Wait()
	return nil
}

// Reap kills (SIGKILL) every process group recorded in procDir by a host
// executor whose process died without tearing its jobs down (SIGKILL, a
// crash), and returns how many groups still had processes. Linux does not
// hand out a pid while a process group of that id exists, so a recorded
// group that still has members is the one the step started.
func Reap(procDir string) int {
	b, err := os.ReadFile(filepath.Join(procDir, procFile))
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Fields(string(b)) {
		pgid, err := strconv.Atoi(line)
		if err != nil || pgid <= 1 {
			continue
		}
		if len(GroupMembers(pgid)) > 0 {
			n++
			KillGroup(pgid, 0)
		}
	}
	os.Remove(filepath.Join(procDir, procFile))
	return n
}

// KillGroup sends SIGTERM to process group pgid, waits up to grace for its
// live members to exit, then sends SIGKILL and waits (briefly) until none
// is left.
func KillGroup(pgid int, grace time.Duration) {
	syscall.Kill(-pgid, syscall.SIGTERM)
	// A stopped process does not act on SIGTERM until continued.
	syscall.Kill(-pgid, syscall.SIGCONT)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if len(GroupMembers(pgid)) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	for i := 0; i < 100 && len(GroupMembers(pgid)) > 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// GroupMembers lists the live (not zombie) processes whose process group is
// pgid, read from /proc.
func GroupMembers(pgid int) []int {
	// Fast path: no process at all (not even a zombie) is in the group.
	if err := syscall.Kill(-pgid, 0); err == syscall.ESRCH {
		return nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		// No /proc: fall back to asking the kernel whether the group exists.
		if syscall.Kill(-pgid, 0) == nil {
			return []int{pgid}
		}
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces and parens.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// lookPath finds argv0 using the PATH of the step's environment, so a
// GITHUB_PATH addition takes effect for the next step.
func lookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		return argv0, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, argv0)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: command not found in PATH", argv0)
}

var _ executor.Executor = (*Executor)(nil)
