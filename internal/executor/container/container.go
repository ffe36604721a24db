// Package container is the executor that runs a job's steps inside
// containers through the Docker Engine API (dockerd, or podman's
// Docker-compatible socket), as GitHub's runner does for `container:` and
// `services:`.
//
// The flow for one job:
//
//  1. Setup checks the spec before creating anything: no registry
//     credentials (nothing is pulled), every image present in the engine,
//     every `options:` flag understood. Then it creates a network for the
//     job, starts each service with its ID as its host name there, waits
//     until every service with a health check reports healthy, and starts
//     the job container running `tail -f /dev/null` (as GitHub's runner
//     does) with the workspace, the job's temp dir (RUNNER_TEMP: step
//     scripts and the GITHUB_OUTPUT/ENV/PATH/STEP_SUMMARY files) and
//     Job.Mounts bind-mounted at the same paths as on the host, so the
//     engine's files work unchanged. A Setup that fails removes what it
//     made.
//  2. Exec runs the step's argv with `docker exec` under a tiny sh wrapper
//     that records the process's pid: the exec'd process leads its own
//     process group, so on timeout or cancel the whole group gets SIGTERM,
//     then SIGKILL after the grace period, through a second exec. Output is
//     demultiplexed into the step's stdout and stderr as it arrives.
//     Steps marked OnHost, and every step of a job without `container:`
//     (services only), run on the host through the host executor.
//  3. Teardown force-removes the job's containers (anonymous volumes too)
//     and its network, with a context that outlives cancellation.
//
// Everything created is labelled shipgate.dev/run, shipgate.dev/job and
// shipgate.dev/key (one job leg), so GC can remove what a killed process
// left behind.
package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/shipgate/shipgate/internal/executor"
	"github.com/shipgate/shipgate/internal/executor/host"
)

// Labels on every container and network the executor creates.
const (
	// LabelRun holds executor.Job.Run.
	LabelRun = "shipgate.dev/run"
	// LabelJob holds executor.Job.ID.
	LabelJob = "shipgate.dev/job"
	// LabelKey is unique to one job leg's Setup.
	LabelKey = "shipgate.dev/key"
	// LabelService holds the service ID on a service container ("" on the
	// job container).
	LabelService = "shipgate.dev/service"

	labelPrefix = "shipgate.dev/"
)

// KeepAlive is the job container's command: it idles until removed, and
// steps are exec'd beside it (GitHub's runner uses the same).
var KeepAlive = []string{"tail", "-f", "/dev/null"}

// Executor runs jobs' steps in containers. One Executor serves many jobs at
// once; the zero value uses DOCKER_HOST (or the default socket).
type Executor struct {
	// Host is the engine's address ("unix:///run/docker.sock"); empty means
	// DOCKER_HOST, else the platform default.
	Host string
	// Grace overrides executor.DefaultGrace for steps run on the host.
	Grace time.Duration

	mu   sync.Mutex
	cli  *client.Client
	host *host.Executor
}

// New returns a container executor for the engine at addr ("" for
// DOCKER_HOST).
func New(addr string) *Executor { return &Executor{Host: addr} }

// Name is "container".
func (e *Executor) Name() string { return "container" }

// SupportsContainers reports true: `container:` and `services:` run.
func (e *Executor) SupportsContainers() bool { return true }

// Client returns the Docker Engine client (created on first use, with the
// API version negotiated with the engine).
func (e *Executor) Client(ctx context.Context) (*client.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cli != nil {
		return e.cli, nil
	}
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if e.Host != "" {
		opts = append(opts, client.WithHost(e.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("container: docker client: %w", err)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		return nil, fmt.Errorf("container: no Docker Engine at %s: %w", e.addr(), err)
	}
	e.cli = cli
	return cli, nil
}

func (e *Executor) addr() string {
	if e.Host != "" {
		return e.Host
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return client.DefaultDockerHost
}

func (e *Executor) hostExec() *host.Executor {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.host == nil {
		e.host = &host.Executor{Grace: e.Grace}
	}
	return e.host
}

// Close releases the host executor's records; the engine calls it after a
// run. The executor stays usable.
func (e *Executor) Close() error {
	e.mu.Lock()
	h := e.host
	e.mu.Unlock()
	if h != nil {
		return h.Close()
	}
	return nil
}

// jobState is one job leg's bookkeeping.
type jobState struct {
	key     string
	hostJob *executor.Job
	network string // network ID ("" until created)
	jobCtr  string // job container ID ("" for a services-only job)
	path    string // PATH in the job container

	mu      sync.Mutex
	created []string // container IDs
	looked  map[string]bool
}

// Setup starts the job's services and container.
func (e *Executor) Setup(ctx context.Context, job *executor.Job) (err error) {
	st := &jobState{key: randomHex(6), looked: map[string]bool{}}
	st.hostJob = &executor.Job{ID: job.ID, Workspace: job.Workspace, TempDir: job.TempDir, ProcDir: job.ProcDir}
	if err := e.hostExec().Setup(ctx, st.hostJob); err != nil {
		return err
	}
	job.State = st
	if job.Container == nil && len(job.Services) == 0 {
		return nil
	}
	cli, err := e.Client(ctx)
	if err != nil {
		return err
	}
	// Check the whole spec before creating anything.
	type plan struct {
		c       *created
		spec    *executor.Container
		name    string
		service string
	}
	var plans []plan
	for _, s := range job.Services {
		c, err := e.prepare(ctx, cli, job, st, &s.Container, s.ID)
		if err != nil {
			return fmt.Errorf("service %s: %w", s.ID, err)
		}
		plans = append(plans, plan{c, &s.Container, "shipgate-" + st.key + "-" + sanitize(s.ID), s.ID})
	}
	if job.Container != nil {
		c, err := e.prepare(ctx, cli, job, st, job.Container, "")
		if err != nil {
			return fmt.Errorf("container: %w", err)
		}
		plans = append(plans, plan{c, job.Container, "shipgate-" + st.key + "-job", ""})
	}

	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			e.cleanup(cctx, cli, st)
		}
	}()
	netName := "shipgate-" + st.key
	nr, err := cli.NetworkCreate(ctx, netName, client.NetworkCreateOptions{Driver: "bridge", Labels: e.labels(job, st, "")})
	if err != nil {
		return fmt.Errorf("creating the job's network: %w", err)
	}
	st.network = nr.ID

	for _, p := range plans {
		id, err := e.start(ctx, cli, st, p.c, p.name, netName)
		what := "the job container"
		if p.service != "" {
			what = "service " + p.service
		}
		if err != nil {
			return fmt.Errorf("%s (%s): %w", what, p.spec.Image, err)
		}
		if err := e.describe(ctx, cli, id, p.spec); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if p.service != "" {
			continue
		}
		st.jobCtr = id
		ins, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		for _, kv := range ins.Container.Config.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				st.path = v
			}
		}
	}
	// Services with a health check must report healthy before the steps.
	for _, p := range plans {
		if p.service == "" {
			continue
		}
		if err := waitHealthy(ctx, cli, p.spec.ContainerID); err != nil {
			return fmt.Errorf("service %s (%s): %w", p.service, p.spec.Image, err)
		}
	}
	return nil
}

// prepare checks one container's spec and builds what it is created with.
func (e *Executor) prepare(ctx context.Context, cli *client.Client, job *executor.Job, st *jobState, spec *executor.Container, service string) (*created, error) {
	if spec.Image == "" {
		return nil, errors.New("no image")
	}
	if spec.Username != "" || spec.Password != "" {
		return nil, errors.New("credentials are not supported: shipgate pulls no images, so the image must already be in the Docker Engine")
	}
	c := &created{
		cfg:  &container.Config{Image: spec.Image, Labels: e.labels(job, st, service)},
		host: &container.HostConfig{},
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		c.cfg.Env = append(c.cfg.Env, k+"="+spec.Env[k])
	}
	if err := applyOptions(spec.Options, c); err != nil {
		return nil, err
	}
	for _, p := range spec.Ports {
		if err := addPort(p, c); err != nil {
			return nil, fmt.Errorf("ports: %w", err)
		}
	}
	for _, v := range spec.Volumes {
		if err := addVolume(v, c); err != nil {
			return nil, fmt.Errorf("volumes: %w", err)
		}
	}
	if service != "" {
		c.aliases = append([]string{service}, c.aliases...)
	} else {
		if c.cfg.Entrypoint != nil {
			return nil, errors.New("options: --entrypoint is not supported for the job container (it runs `tail -f /dev/null` while steps are exec'd in it)")
		}
		c.cfg.Entrypoint = KeepAlive[:1]
		c.cfg.Cmd = KeepAlive[1:]
		if c.cfg.WorkingDir == "" {
			c.cfg.WorkingDir = job.Workspace
		}
		// The engine's files are used by their host paths.
		seen := map[string]bool{}
		for _, p := range append([]string{job.Workspace, job.TempDir}, job.Mounts...) {
			if p == "" {
				continue
			}
			abs, err := filepath.Abs(p)
			if err != nil || seen[abs] {
				continue
			}
			seen[abs] = true
			c.host.Binds = append(c.host.Binds, abs+":"+abs)
		}
	}
	if _, err := cli.ImageInspect(ctx, spec.Image); err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("image %q is not in the Docker Engine at %s (shipgate pulls nothing: build, load or import it there first, e.g. docker load -i image.tar)", spec.Image, e.addr())
		}
		return nil, fmt.Errorf("image %q: %w", spec.Image, err)
	}
	return c, nil
}

func (e *Executor) labels(job *executor.Job, st *jobState, service string) map[string]string {
	return map[string]string{LabelRun: job.Run, LabelJob: job.ID, LabelKey: st.key, LabelService: service}
}

// start creates and starts one container on the job's network (or the
// network its options name).
func (e *Executor) start(ctx context.Context, cli *client.Client, st *jobState, c *created, name, netName string) (string, error) {
	nw := netName
	if c.network != "" {
		nw = c.network
	}
	c.host.NetworkMode = container.NetworkMode(nw)
	var ncfg *network.NetworkingConfig
	if mode := c.host.NetworkMode; !mode.IsHost() && !mode.IsNone() {
		ncfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{nw: {Aliases: c.aliases}}}
	}
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: c.cfg, HostConfig: c.host, NetworkingConfig: ncfg})
	if err != nil {
		return "", err
	}
	st.mu.Lock()
	st.created = append(st.created, res.ID)
	st.mu.Unlock()
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return "", err
	}
	return res.ID, nil
}

// describe fills spec's ID, Network and HostPorts from the started container.
func (e *Executor) describe(ctx context.Context, cli *client.Client, id string, spec *executor.Container) error {
	ins, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	spec.ContainerID = id
	spec.Network = string(ins.Container.HostConfig.NetworkMode)
	spec.HostPorts = map[string]string{}
	if ns := ins.Container.NetworkSettings; ns != nil {
		for port, bs := range ns.Ports {
			if len(bs) > 0 {
				spec.HostPorts[port.String()] = bs[0].HostPort
				spec.HostPorts[strconv.Itoa(int(port.Num()))] = bs[0].HostPort
			}
		}
	}
	return nil
}

// waitHealthy waits until a container with a health check is healthy; one
// without a check only has to be running.
func waitHealthy(ctx context.Context, cli *client.Client, id string) error {
	for {
		ins, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			return err
		}
		s := ins.Container.State
		if s == nil {
			return errors.New("no state")
		}
		if !s.Running {
			return fmt.Errorf("exited with code %d before the job started%s", s.ExitCode, logTail(ctx, cli, id))
		}
		if s.Health == nil {
			return nil
		}
		switch s.Health.Status {
		case container.Healthy:
			return nil
		case container.Unhealthy:
			last := ""
			if n := len(s.Health.Log); n > 0 {
				last = fmt.Sprintf(" (last check exited %d: %s)", s.Health.Log[n-1].ExitCode, strings.TrimSpace(s.Health.Log[n-1].Output))
			}
			return fmt.Errorf("unhealthy after %d failed health checks%s", s.Health.FailingStreak, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for its health check: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// logTail is the end of a container's output, for errors.
func logTail(ctx context.Context, cli *client.Client, id string) string {
	rc, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "20"})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var b strings.Builder
	stdcopy.StdCopy(&b, &b, io.LimitReader(rc, 64<<10))
	if s := strings.TrimSpace(b.String()); s != "" {
		return "; its output ends:\n" + s
	}
	return ""
}

// Exec runs one step in the job container (or on the host, see OnHost).
func (e *Executor) Exec(ctx context.Context, job *executor.Job, step *executor.Step) (*executor.Result, error) {
	st, _ := job.State.(*jobState)
	if st == nil {
		return nil, errors.New("container: Exec before Setup")
	}
	if step.OnHost || st.jobCtr == "" {
		return e.hostExec().Exec(ctx, st.hostJob, step)
	}
	if len(step.Argv) == 0 {
		return nil, errors.New("container: empty command")
	}
	if ctx.Err() != nil {
		return &executor.Result{ExitCode: -1, Cancelled: true}, nil
	}
	cli, err := e.Client(ctx)
	if err != nil {
		return nil, err
	}
	pidFile := filepath.Join(job.TempDir, ".pid-"+randomHex(6))
	defer os.Remove(pidFile)
	// The wrapper records the step's pid (its process group: every exec'd
	// process leads its own session) so a timeout can signal the group.
	argv := append([]string{"sh", "-c", `echo $$ >"$0" && exec "$@"`, pidFile}, step.Argv...)
	dir := step.Dir
	if dir == "" {
		dir = job.Workspace
	}
	// The exec's context must not end the stream when ctx is cancelled:
	// the process is stopped by signals first, below.
	bg := context.WithoutCancel(ctx)
	ex, err := cli.ExecCreate(bg, st.jobCtr, client.ExecCreateOptions{
		Cmd: argv, Env: execEnv(step.Env, st.path), WorkingDir: dir,
		AttachStdout: true, AttachStderr: true, AttachStdin: step.Stdin != nil,
	})
	if err != nil {
		return nil, fmt.Errorf("step %s: %w", step.ID, err)
	}
	start := time.Now()
	att, err := cli.ExecAttach(bg, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("step %s: %w", step.ID, err)
	}
	defer att.Close()
	stdout, stderr := step.Stdout, step.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	copied := make(chan struct{})
	go func() { stdcopy.StdCopy(stdout, stderr, att.Reader); close(copied) }()
	if step.Stdin != nil {
		go func() { io.Copy(att.Conn, step.Stdin); att.CloseWrite() }()
	}

	var timeout <-chan time.Time
	if step.Timeout > 0 {
		t := time.NewTimer(step.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	// A process that leaves a background child holding stdout open must
	// not hang the step: once the exec has exited, the stream gets 500ms.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	res := &executor.Result{}
wait:
	for {
		select {
		case <-copied:
			break wait
		case <-ctx.Done():
			res.Cancelled = true
			break wait
		case <-timeout:
			res.TimedOut = true
			break wait
		case <-tick.C:
			if ins, err := cli.ExecInspect(bg, ex.ID, client.ExecInspectOptions{}); err == nil && !ins.Running && ins.PID != 0 {
				select {
				case <-copied:
				case <-time.After(500 * time.Millisecond):
				}
				break wait
			}
		}
	}
	if res.Cancelled || res.TimedOut {
		grace := step.Grace
		if grace == 0 {
			grace = executor.DefaultGrace
		}
		e.killGroup(bg, cli, st.jobCtr, ex.ID, pidFile, grace)
	}
	// The exit code is known once the process is gone.
	res.ExitCode = -1
	for i := 0; i < 100; i++ {
		ins, err := cli.ExecInspect(bg, ex.ID, client.ExecInspectOptions{})
		if err != nil {
			break
		}
		if !ins.Running {
			res.ExitCode = ins.ExitCode
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if (res.Cancelled || res.TimedOut) && res.ExitCode > 128 {
		res.ExitCode = -1 // killed by a signal, as the host executor reports it
	}
	res.Duration = time.Since(start)
	return res, nil
}

// killGroup sends SIGTERM to the step's process group inside the
// container, then SIGKILL after grace, and waits until the exec is gone.
func (e *Executor) killGroup(ctx context.Context, cli *client.Client, ctr, execID, pidFile string, grace time.Duration) {
	running := func() bool {
		ins, err := cli.ExecInspect(ctx, execID, client.ExecInspectOptions{})
		return err == nil && ins.Running
	}
	pid := ""
	for i := 0; i < 50 && pid == ""; i++ {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid = strings.TrimSpace(string(b))
		}
		if pid == "" {
			if !running() {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if _, err := strconv.Atoi(pid); err != nil {
		return // the wrapper never ran; Teardown removes the container
	}
	signal := func(sig string) {
		ex, err := cli.ExecCreate(ctx, ctr, client.ExecCreateOptions{User: "0",
			Cmd: []string{"sh", "-c", "kill -s " + sig + " -- -$0 2>/dev/null; kill -s CONT -- -$0 2>/dev/null; true", pid}})
		if err == nil {
			cli.ExecStart(ctx, ex.ID, client.ExecStartOptions{Detach: true})
		}
	}
	signal("TERM")
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !running() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	signal("KILL")
	for i := 0; i < 100 && running(); i++ {
		time.Sleep(20 * time.Millisecond)
	}
}

// execEnv is the exec's environment: the step's, where a PATH with an
// empty last element (GITHUB_PATH entries before the default) ends with
// the container's PATH.
func execEnv(env []string, ctrPath string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok && (v == "" || strings.HasSuffix(v, ":")) {
			kv = "PATH=" + v + ctrPath
		}
		out = append(out, kv)
	}
	return out
}

// LookPath reports whether program is on the job container's PATH (on the
// host's for a job without a container).
func (e *Executor) LookPath(ctx context.Context, job *executor.Job, program string) bool {
	st, _ := job.State.(*jobState)
	if st == nil || st.jobCtr == "" {
		_, err := lookHost(program)
		return err == nil
	}
	st.mu.Lock()
	ok, done := st.looked[program]
	st.mu.Unlock()
	if done {
		return ok
	}
	res, err := e.Exec(ctx, job, &executor.Step{ID: "lookpath", Argv: []string{"sh", "-c", `command -v "$1" >/dev/null`, "sh", program}})
	ok = err == nil && res.Success()
	st.mu.Lock()
	st.looked[program] = ok
	st.mu.Unlock()
	return ok
}

// Teardown removes the job's containers and network, and kills what its
// host steps left.
func (e *Executor) Teardown(ctx context.Context, job *executor.Job) error {
	st, _ := job.State.(*jobState)
	if st == nil {
		return errors.New("container: Teardown before Setup")
	}
	herr := e.hostExec().Teardown(ctx, st.hostJob)
	if st.network == "" && len(st.created) == 0 {
		return herr
	}
	cli, err := e.Client(ctx)
	if err != nil {
		return err
	}
	return errors.Join(herr, e.cleanup(ctx, cli, st))
}

// cleanup removes every container and network of one job leg: those it
// recorded and any other carrying its key (a create whose answer was lost
// to a cancel).
func (e *Executor) cleanup(ctx context.Context, cli *client.Client, st *jobState) error {
	st.mu.Lock()
	ids := slices.Clone(st.created)
	st.mu.Unlock()
	f := client.Filters{}.Add("label", LabelKey+"="+st.key)
	if l, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		for _, c := range l.Items {
			if !slices.Contains(ids, c.ID) {
				ids = append(ids, c.ID)
			}
		}
	}
	errs := removeContainers(ctx, cli, ids)
	nets := []string{}
	if st.network != "" {
		nets = append(nets, st.network)
	}
	if l, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f}); err == nil {
		for _, n := range l.Items {
			if !slices.Contains(nets, n.ID) {
				nets = append(nets, n.ID)
			}
		}
	}
	for _, n := range nets {
		if _, err := cli.NetworkRemove(ctx, n, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing network %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

func removeContainers(ctx context.Context, cli *client.Client, ids []string) []error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !cerrdefs.IsNotFound(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("removing container %.12s: %w", id, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// Leftover is a container or network GC found.
type Leftover struct {
	Kind string // "container" or "network"
	ID   string
	Name string
	Run  string
	Job  string
}

// GC removes every container and network labelled shipgate.dev/run whose
// run keep does not claim (nil keeps none), and returns what it removed,
// containers first, each kind sorted by name. Call it when a process that
// ran container jobs died without tearing them down.
func (e *Executor) GC(ctx context.Context, keep func(run string) bool) ([]Leftover, error) {
	cli, err := e.Client(ctx)
	if err != nil {
		return nil, err
	}
	f := client.Filters{}.Add("label", LabelRun)
	cl, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, err
	}
	var out []Leftover
	var ids []string
	for _, c := range cl.Items {
		run := c.Labels[LabelRun]
		if keep != nil && keep(run) {
			continue
		}
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, Leftover{Kind: "container", ID: c.ID, Name: name, Run: run, Job: c.Labels[LabelJob]})
		ids = append(ids, c.ID)
	}
	errs := removeContainers(ctx, cli, ids)
	nl, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return out, errors.Join(append(errs, err)...)
	}
	var nets []Leftover
	for _, n := range nl.Items {
		run := n.Labels[LabelRun]
		if keep != nil && keep(run) {
			continue
		}
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing network %s: %w", n.Name, err))
			continue
		}
		nets = append(nets, Leftover{Kind: "network", ID: n.ID, Name: n.Name, Run: run, Job: n.Labels[LabelJob]})
	}
	byName := func(a, b Leftover) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(out, byName)
	slices.SortFunc(nets, byName)
	return append(out, nets...), errors.Join(errs...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sanitize makes s usable in a container name ([a-zA-Z0-9_.-]).
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// lookHost finds program in this process's PATH.
func lookHost(program string) (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, program)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH", program)
}

var (
	_ executor.Executor   = (*Executor)(nil)
	_ executor.Containers = (*Executor)(nil)
)
