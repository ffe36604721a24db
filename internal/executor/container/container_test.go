package container_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/shipgate/shipgate/internal/executor"
	"github.com/shipgate/shipgate/internal/executor/container"
	"github.com/shipgate/shipgate/internal/executor/container/dockertest"
)

// One private dockerd for the package's tests; its images are built once.
var (
	daemon *dockertest.Daemon
	cli    *client.Client
)

const (
	jobImage = "shipgate-test/job:1"
	webImage = "shipgate-test/web:1"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	start := time.Now()
	var err error
	daemon, err = dockertest.FromEnv(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockertest:", err)
		return 1
	}
	defer daemon.Stop()
	if cli, err = daemon.Client(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cli.Close()
	// The job image has a marker only it has; the web image serves a page.
	if err := dockertest.BusyboxImage(ctx, daemon.Host, jobImage, map[string]string{
		"/etc/os-release": "ID=shipgate-test\nNAME=\"shipgate test image\"\n",
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := dockertest.BusyboxImage(ctx, daemon.Host, webImage, map[string]string{
		"/www/index.html": "hello from the web service\n",
		"/bin/serve":      "#!/bin/sh\nexec httpd -f -v -p 8080 -h /www\n",
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "dockertest: dockerd and 2 images ready in %v\n", time.Since(start).Round(time.Millisecond))
	return m.Run()
}

// newJob is a job leg with its own workspace and temp dir.
func newJob(t *testing.T, run string, ctr *executor.Container, svcs ...*executor.Service) *executor.Job {
	t.Helper()
	dir := t.TempDir()
	ws, tmp := filepath.Join(dir, "ws"), filepath.Join(dir, "tmp")
	os.MkdirAll(ws, 0o755)
	os.MkdirAll(tmp, 0o755)
	return &executor.Job{ID: t.Name(), Run: run, Workspace: ws, TempDir: tmp, Container: ctr, Services: svcs}
}

// syncBuf is an io.Writer safe for the stream copier and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func execSh(t *testing.T, ex *container.Executor, job *executor.Job, script string, env ...string) (*executor.Result, string, string) {
	t.Helper()
	var out, errb syncBuf
	res, err := ex.Exec(context.Background(), job, &executor.Step{ID: "s", Argv: []string{"sh", "-e", "-c", script}, Env: env, Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatalf("exec %q: %v", script, err)
	}
	return res, out.String(), errb.String()
}

// leftovers lists the containers and networks labelled with run (any
// run for "").
func leftovers(t *testing.T, run string) []string {
	t.Helper()
	ctx := context.Background()
	f := client.Filters{}.Add("label", container.LabelRun+"="+run)
	if run == "" {
		f = client.Filters{}.Add("label", container.LabelRun)
	}
	var out []string
	cl, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cl.Items {
		out = append(out, "container "+strings.Join(c.Names, ","))
	}
	nl, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nl.Items {
		out = append(out, "network "+n.Name)
	}
	return out
}

func teardown(t *testing.T, ex *container.Executor, job *executor.Job) {
	t.Helper()
	if err := ex.Teardown(context.Background(), job); err != nil {
		t.Errorf("teardown: %v", err)
	}
	if l := leftovers(t, job.Run); len(l) > 0 {
		t.Errorf("after teardown, left: %v", l)
	}
}

func TestStepsRunInTheJobContainer(t *testing.T) {
	ex := container.New(daemon.Host)
	job := newJob(t, "r1", &executor.Container{Image: jobImage, Env: map[string]string{"FROM_CONTAINER": "yes"}})
	if err := ex.Setup(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	defer teardown(t, ex, job)

	// The image's own file, the container env, the step env and the
	// workspace as working directory; bash is not in the image.
	res, out, errOut := execSh(t, ex, job, `cat /etc/os-release; echo "ctr=$FROM_CONTAINER step=$STEP pwd=$(pwd)"; command -v bash || echo no-bash; echo to-stderr >&2`, "STEP=1")
	if !res.Success() {
		t.Fatalf("exit %d: %s %s", res.ExitCode, out, errOut)
	}
	for _, want := range []string{"ID=shipgate-test", "ctr=yes step=1 pwd=" + job.Workspace, "no-bash"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.TrimSpace(errOut) != "to-stderr" {
		t.Errorf("stderr = %q, want to-stderr", errOut)
	}
	// Files written in the container appear at the same host paths.
	res, _, errOut = execSh(t, ex, job, `echo made-inside > `+filepath.Join(job.Workspace, "inside.txt")+`; echo out=1 >> `+filepath.Join(job.TempDir, "output"))
	if !res.Success() {
		t.Fatalf("write: %s", errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(job.Workspace, "inside.txt")); string(b) != "made-inside\n" {
		t.Errorf("workspace file on the host = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(job.TempDir, "output")); string(b) != "out=1\n" {
		t.Errorf("temp dir file on the host = %q", b)
	}
	// Exit codes come back; a step marked OnHost runs on the host.
	if res, _, _ := execSh(t, ex, job, "exit 3"); res.ExitCode != 3 {
		t.Errorf("exit code = %d, want 3", res.ExitCode)
	}
	var hostOut syncBuf
	hres, err := ex.Exec(context.Background(), job, &executor.Step{ID: "h", Argv: []string{"sh", "-c", "test -f /etc/os-release && grep -c shipgate-test /etc/os-release || echo host-side"}, Env: os.Environ(), Stdout: &hostOut, Stderr: &hostOut, OnHost: true})
	if err != nil || !strings.Contains(hostOut.String(), "host-side") && !strings.Contains(hostOut.String(), "0") {
		t.Errorf("OnHost step: %v %v %q", hres, err, hostOut.String())
	}
	// GITHUB_PATH entries go before the container's PATH.
	_, out, _ = execSh(t, ex, job, `echo "$PATH"`, "PATH=/opt/tools:")
	if strings.TrimSpace(out) != "/opt/tools:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" {
		t.Errorf("PATH = %q", out)
	}
	if ex.LookPath(context.Background(), job, "bash") || !ex.LookPath(context.Background(), job, "sh") {
		t.Errorf("LookPath: bash should be missing and sh present")
	}
	// The cost of a step: one exec round trip.
	const n = 10
	start := time.Now()
	for i := 0; i < n; i++ {
		if res, _, _ := execSh(t, ex, job, "true"); !res.Success() {
			t.Fatal("true failed")
		}
	}
	t.Logf("a `true` step in the container: %v on average over %d", (time.Since(start) / n).Round(time.Millisecond), n)
}

func TestNetworkOption(t *testing.T) {
	ex := container.New(daemon.Host)
	web := &executor.Service{ID: "web", Container: executor.Container{Image: webImage, Options: "--entrypoint /bin/serve"}}
	job := newJob(t, "r6", &executor.Container{Image: jobImage, Options: "--network none"}, web)
	if err := ex.Setup(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	defer teardown(t, ex, job)
	if job.Container.Network != "none" || web.Network == "none" || !strings.HasPrefix(web.Network, "shipgate-") {
		t.Errorf("networks: job %q, web %q", job.Container.Network, web.Network)
	}
	// --network none: only loopback, so the service is out of reach.
	_, out, _ := execSh(t, ex, job, "ls /sys/class/net; wget -q -T 2 -O - http://web:8080/ || echo unreachable")
	if strings.Fields(out)[0] != "lo" || !strings.Contains(out, "unreachable") {
		t.Errorf("with --network none: %q", out)
	}
}

func TestServiceReachableByName(t *testing.T) {
	ex := container.New(daemon.Host)
	web := &executor.Service{ID: "web", Container: executor.Container{
		Image: webImage, Ports: []string{"8080"},
		Options: "--entrypoint /bin/serve --health-cmd 'wget -q -O /dev/null http://127.0.0.1:8080/' --health-interval 200ms --health-retries 50",
	}}
	job := newJob(t, "r2", &executor.Container{Image: jobImage}, web)
	start := time.Now()
	if err := ex.Setup(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	t.Logf("setup with a healthy service: %v", time.Since(start).Round(time.Millisecond))
	defer teardown(t, ex, job)

	// Healthy before the first step: no retry loop needed.
	res, out, errOut := execSh(t, ex, job, "wget -q -O - http://web:8080/")
	if !res.Success() || out != "hello from the web service\n" {
		t.Fatalf("GET http://web:8080/ from the job container: exit %d %q %q", res.ExitCode, out, errOut)
	}
	ins, err := cli.ContainerInspect(context.Background(), web.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := ins.Container.State.Health; h == nil || h.Status != "healthy" {
		t.Errorf("service health = %+v", h)
	}
	// The published port (job.services.web.ports['8080']) answers on the host's loopback.
	hp := web.HostPorts["8080"]
	if hp == "" {
		t.Fatalf("no host port for 8080: %v", web.HostPorts)
	}
	resp, err := http.Get("http://127.0.0.1:" + hp + "/")
	if err != nil {
		t.Fatalf("GET via the published port: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello from the web service\n" {
		t.Errorf("published port body = %q", body)
	}
}

func TestServicesOnlyJobRunsStepsOnTheHost(t *testing.T) {
	ex := container.New(daemon.Host)
	web := &executor.Service{ID: "web", Container: executor.Container{Image: webImage, Ports: []string{"8080"}, Options: "--entrypoint /bin/serve"}}
	job := newJob(t, "r2b", nil, web)
	if err := ex.Setup(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	defer teardown(t, ex, job)
	var out syncBuf
	res, err := ex.Exec(context.Background(), job, &executor.Step{ID: "s", Argv: []string{"sh", "-c", "test -f /etc/os-release && ! grep -q shipgate-test /etc/os-release && echo on-host"}, Env: os.Environ(), Stdout: &out, Stderr: &out})
	if err != nil || !res.Success() || !strings.Contains(out.String(), "on-host") {
		t.Fatalf("services-only step: %v %+v %q", err, res, out.String())
	}
	if web.HostPorts["8080"] == "" {
		t.Errorf("no published port: %v", web.HostPorts)
	}
}

func TestResourceLimitsEnforced(t *testing.T) {
	ex := container.New(daemon.Host)
	job := newJob(t, "r3", &executor.Container{Image: jobImage, Options: "--cpus 0.5 --memory 64m --pids-limit 200"})
	if err := ex.Setup(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	defer teardown(t, ex, job)
	ins, err := cli.ContainerInspect(context.Background(), job.Container.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := ins.Container.HostConfig
	if hc.Memory != 64<<20 || hc.NanoCPUs != 5e8 || hc.PidsLimit == nil || *hc.PidsLimit != 200 {
		t.Errorf("inspect: memory %d, nano cpus %d, pids %v", hc.Memory, hc.NanoCPUs, hc.PidsLimit)
	}
	// The kernel's view from inside: cgroup v1 here, v2 elsewhere.
	_, out, _ := execSh(t, ex, job, `cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max`)
	f := strings.Fields(out)
	if len(f) < 3 || f[0] != "67108864" || f[1] != "50000" || f[2] != "100000" {
		t.Errorf("cgroup limits inside the container = %q, want 67108864 and 50000/100000", out)
	}
	// Using more than 64 MiB gets the step killed (dd reads into one
	// 100 MiB buffer); 32 MiB is fine.
	if res, _, errOut := execSh(t, ex, job, `dd if=/dev/zero of=/dev/null bs=32M count=1`); !res.Success() {
		t.Errorf("a 32 MiB buffer under a 64 MiB limit failed: %s", errOut)
	}
	res, _, _ := execSh(t, ex, job, `dd if=/dev/zero of=/dev/null bs=100M count=1`)
	if res.Success() {
		t.Errorf("a step holding 200 MiB under a 64 MiB limit succeeded")
	}
	t.Logf("200 MiB under --memory 64m: exit %d", res.ExitCode)
}

func TestTimeoutKillsTheStepsProcessGroup(t *testing.T) {
	ex := container.New(daemon.Host)
	job := newJob(t, "r4", &executor.Container{Image: jobImage})
	if err := ex.Setup(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	defer teardown(t, ex, job)
	start := time.Now()
	var out syncBuf
	res, err := ex.Exec(context.Background(), job, &executor.Step{ID: "slow", Argv: []string{"sh", "-c", "sleep 300 & sleep 301; echo never"},
		Stdout: &out, Stderr: &out, Timeout: time.Second, Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if !res.TimedOut || res.Success() || res.ExitCode != -1 {
		t.Errorf("result %+v, want timed out with exit -1", res)
	}
	if took > 6*time.Second {
		t.Errorf("a 1s timeout took %v", took)
	}
	_, ps, _ := execSh(t, ex, job, "ps -o pid,args | grep -c '[s]leep 30' || true")
	if strings.TrimSpace(ps) != "0" {
		t.Errorf("sleeps left in the container: %q", ps)
	}
}

func TestCancelMidStepLeavesNothing(t *testing.T) {
	ex := container.New(daemon.Host)
	web := &executor.Service{ID: "web", Container: executor.Container{Image: webImage, Options: "--entrypoint /bin/serve"}}
	job := newJob(t, "r5", &executor.Container{Image: jobImage}, web)
	ctx, cancel := context.WithCancel(context.Background())
	if err := ex.Setup(ctx, job); err != nil {
		t.Fatal(err)
	}
	if n := len(leftovers(t, "r5")); n != 3 {
		t.Fatalf("running: %d containers and networks labelled, want 3 (job, web, network)", n)
	}
	var out syncBuf
	done := make(chan *executor.Result)
	go func() {
		res, _ := ex.Exec(ctx, job, &executor.Step{ID: "long", Argv: []string{"sh", "-c", "echo started; sleep 300"}, Stdout: &out, Stderr: &out, Grace: time.Second})
		done <- res
	}()
	for !strings.Contains(out.String(), "started") {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case res := <-done:
		if !res.Cancelled {
			t.Errorf("result %+v, want cancelled", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the step did not stop within 10s of the cancel")
	}
	// Teardown gets a context that outlives the cancel, as the engine gives it.
	teardown(t, ex, job)
}

func TestSetupErrors(t *testing.T) {
	ex := container.New(daemon.Host)
	cases := []struct {
		name string
		ctr  *executor.Container
		svc  *executor.Service
		want string
	}{
		{"missing image", &executor.Container{Image: "no-such/image:9"}, nil, `image "no-such/image:9" is not in the Docker Engine`},
		{"missing service image", &executor.Container{Image: jobImage}, &executor.Service{ID: "db", Container: executor.Container{Image: "postgres:16"}}, `service db: image "postgres:16" is not in the Docker Engine`},
		{"unsupported option", &executor.Container{Image: jobImage, Options: "--cpus 1 --gpus all"}, nil, "--gpus is not supported"},
		{"credentials", &executor.Container{Image: jobImage, Username: "u", Password: "p"}, nil, "credentials are not supported"},
		{"unhealthy service", &executor.Container{Image: jobImage}, &executor.Service{ID: "bad", Container: executor.Container{Image: webImage, Options: "--entrypoint /bin/serve --health-cmd false --health-interval 100ms --health-retries 2"}}, "service bad (" + webImage + "): unhealthy after "},
		{"service exits", &executor.Container{Image: jobImage}, &executor.Service{ID: "quit", Container: executor.Container{Image: webImage, Options: "--entrypoint true"}}, "service quit (" + webImage + "): exited with code 0 before the job started"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var svcs []*executor.Service
			if c.svc != nil {
				svcs = append(svcs, c.svc)
			}
			job := newJob(t, fmt.Sprintf("bad%d", i), c.ctr, svcs...)
			err := ex.Setup(context.Background(), job)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Setup error = %v, want %q", err, c.want)
			}
			if l := leftovers(t, job.Run); len(l) > 0 {
				t.Errorf("a failed Setup left %v", l)
			}
		})
	}
}

func TestGCRemovesLeftovers(t *testing.T) {
	// A process killed mid-job leaves its containers and network: GC
	// removes them by label, and keeps those of runs still alive.
	ctx := context.Background()
	dead, alive := container.New(daemon.Host), container.New(daemon.Host)
	j1 := newJob(t, "gc-dead", &executor.Container{Image: jobImage})
	j2 := newJob(t, "gc-alive", &executor.Container{Image: jobImage})
	if err := dead.Setup(ctx, j1); err != nil {
		t.Fatal(err)
	}
	if err := alive.Setup(ctx, j2); err != nil {
		t.Fatal(err)
	}
	defer teardown(t, alive, j2)
	removed, err := container.New(daemon.Host).GC(ctx, func(run string) bool { return run != "gc-dead" })
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, l := range removed {
		if l.Run != "gc-dead" {
			t.Errorf("GC removed %+v of a live run", l)
		}
		kinds = append(kinds, l.Kind)
	}
	if strings.Join(kinds, ",") != "container,network" {
		t.Errorf("GC removed %v, want one container and one network", removed)
	}
	if l := leftovers(t, "gc-dead"); len(l) > 0 {
		t.Errorf("after GC: %v", l)
	}
	if l := leftovers(t, "gc-alive"); len(l) != 2 {
		t.Errorf("GC touched the live run: %v", l)
	}
}
