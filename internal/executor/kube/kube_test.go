package kube

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/shipgate/shipgate/internal/actions"
	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/executor"
	"github.com/shipgate/shipgate/internal/kubetest"
	"github.com/shipgate/shipgate/internal/plan"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
)

// TestMain lets this test binary be the runner inside the Pods: kwok
// serves `exec` by running the command on this machine, and the
// executor's Runner points at this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == RunnerCommand {
		os.Exit(RunnerMain(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const ns = "ci"

type cluster struct {
	*kubetest.Cluster
	cfg Config
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := kubetest.Start(t, kubetest.Options{Exec: &kubetest.LocalExec{WorkDir: "/"}})
	ctx := context.Background()
	if err := c.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Namespace:   ns,
		RunnerImage: "registry.local/shipgate:test",
		Runner:      []string{self, RunnerCommand},
		Profiles: map[string]Profile{
			"default": {Image: "registry.local/ci:1", Requests: map[string]string{"cpu": "100m", "memory": "64Mi"}, Limits: map[string]string{"memory": "128Mi"}},
			"large": {Image: "registry.local/ci-large:2", NodeSelector: map[string]string{"type": "kwok"},
				Requests: map[string]string{"cpu": "2", "memory": "4Gi"}, ServiceAccount: "builder"},
		},
		StartTimeout: time.Minute,
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &cluster{Cluster: c, cfg: cfg}
}

// runs opens a store for the engine, so runs get real IDs (the Pods'
// shipgate.dev/run label).
func runs(t *testing.T, state string) *store.Runs {
	t.Helper()
	db, err := store.Open(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store.NewRuns(db)
}

func load(t *testing.T, src string) *workflow.Workflow {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wf.yml")
	os.WriteFile(p, []byte(src), 0o644)
	wf, ds, err := workflow.Load(p, workflow.Options{Strict: true, KnownAction: actions.Known, NoScriptCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := engine.Blocking(ds); len(block) > 0 {
		t.Fatalf("workflow does not load: %v", block)
	}
	return wf
}

// podLog records every job Pod the API shows: its spec when first seen
// and the phases it went through until deleted.
type podLog struct {
	mu      sync.Mutex
	specs   map[string]*corev1.Pod
	phases  map[string][]string
	deleted map[string]bool
}

func watchPods(t *testing.T, ctx context.Context, c *cluster) *podLog {
	t.Helper()
	w, err := c.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=shipgate"})
	if err != nil {
		t.Fatal(err)
	}
	l := &podLog{specs: map[string]*corev1.Pod{}, phases: map[string][]string{}, deleted: map[string]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			l.mu.Lock()
			if l.specs[p.Name] == nil {
				l.specs[p.Name] = p.DeepCopy()
			}
			ph := string(p.Status.Phase)
			if ev.Type == watch.Deleted {
				ph = "Deleted"
				l.deleted[p.Name] = true
			} else if p.DeletionTimestamp != nil {
				ph = "Terminating"
			}
			if s := l.phases[p.Name]; len(s) == 0 || s[len(s)-1] != ph {
				l.phases[p.Name] = append(s, ph)
			}
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.Stop(); <-done })
	return l
}

// left lists the job Pods that still exist.
func left(t *testing.T, c *cluster, selector string) []string {
	t.Helper()
	l, err := c.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range l.Items {
		names = append(names, p.Name)
	}
	return names
}

const matrix50 = `on: push
jobs:
  build:
    runs-on: ${{ matrix.os == 'e' && 'large' || 'ubuntu-latest' }}
    strategy:
      matrix:
        os: [a, b, c, d, e]
        shard: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    steps:
      - id: s
        run: |
          echo "hello from ${{ matrix.os }}-${{ matrix.shard }} in $PWD"
          echo "sum=$(( ${{ matrix.shard }} * 2 ))" >> "$GITHUB_OUTPUT"
          echo "FROM_ENV=${{ matrix.os }}" >> "$GITHUB_ENV"
      - run: |
          test "${{ steps.s.outputs.sum }}" = "$(( ${{ matrix.shard }} * 2 ))"
          test "$FROM_ENV" = "${{ matrix.os }}"
          cat input.txt
`

// TestFiftyJobsAsPods runs a 50-leg matrix through the engine with the
// kubernetes executor: every leg is a Pod with the profile's spec, is
// followed from Pending to Running to deletion, its steps run through
// pods/exec (outputs and env files come back to the engine), and no Pod
// is left.
func TestFiftyJobsAsPods(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pods := watchPods(t, ctx, c)
	ex, err := New(c.Client, c.Config, c.cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	ws := t.TempDir()
	os.WriteFile(filepath.Join(ws, "input.txt"), []byte("from the workspace\n"), 0o644)
	var mu sync.Mutex
	var logs strings.Builder
	start := time.Now()
	res, err := engine.Run(ctx, engine.Options{Workflow: load(t, matrix50), WorkflowPath: "wf.yml",
		Event: plan.Event{Name: "push", Ref: "refs/heads/main"}, GitHub: map[string]any{"sha": "abc", "ref": "refs/heads/main", "repository": "o/r"},
		Parallel: 10, Workspace: ws, StateDir: filepath.Join(ws, ".shipgate"), Executor: ex, Grace: time.Second, Runs: runs(t, filepath.Join(ws, ".shipgate")),
		Sink: func(e engine.Event) {
			if e.Type == "log" {
				mu.Lock()
				logs.WriteString(e.Job + ": " + e.Text + "\n")
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	run := fmt.Sprint(res.RunID)
	t.Logf("50 jobs as Pods in %s", elapsed.Round(time.Millisecond))
	if res.Status != "success" || len(res.Jobs) != 50 {
		mu.Lock()
		t.Fatalf("run %s with %d jobs\n%s", res.Status, len(res.Jobs), tail(logs.String(), 4000))
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	for _, want := range []string{"build (c, 7): hello from c-7 in " + ws, "build (a, 0): from the workspace"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}

	// Every Pod: the profile's spec, scheduled on the kwok node, followed
	// to Running, then deleted.
	deadline := time.Now().Add(30 * time.Second)
	for {
		pods.mu.Lock()
		n := len(pods.deleted)
		pods.mu.Unlock()
		if n >= 50 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	pods.mu.Lock()
	defer pods.mu.Unlock()
	if len(pods.specs) != 50 {
		t.Errorf("%d Pods created, want 50", len(pods.specs))
	}
	jobs := map[string]bool{}
	large := 0
	for name, p := range pods.specs {
		jobs[p.Annotations[AnnotationJob]] = true
		if err := checkSpec(p, ws, run, c.cfg); err != nil {
			t.Errorf("pod %s: %v", name, err)
		}
		if p.Spec.Containers[0].Image == "registry.local/ci-large:2" {
			large++
		}
		ph := strings.Join(pods.phases[name], ">")
		if !strings.HasPrefix(ph, "Pending>") || !strings.Contains(ph, ">Running>") || !strings.HasSuffix(ph, ">Deleted") {
			t.Errorf("pod %s phases %s, want Pending>...>Running>...>Deleted", name, ph)
		}
	}
	if len(jobs) != 50 || large != 10 {
		t.Errorf("%d distinct jobs, %d large Pods; want 50 and 10", len(jobs), large)
	}
	if l := left(t, c, LabelRun+"="+run); len(l) != 0 || run == "0" {
		t.Errorf("Pods left behind: %v", l)
	}
}

// checkSpec compares a job Pod with what the configuration asks for.
func checkSpec(p *corev1.Pod, ws, run string, cfg Config) error {
	var errs []string
	job := p.Annotations[AnnotationJob]
	want := cfg.Profiles["default"]
	sa := "default"
	if strings.HasPrefix(job, "build (e,") {
		want, sa = cfg.Profiles["large"], "builder"
	}
	if p.Labels[LabelRun] != run || p.Labels[LabelJob] != labelValue(job) || p.Labels[LabelManagedBy] != "shipgate" {
		errs = append(errs, fmt.Sprintf("labels %v", p.Labels))
	}
	if len(p.Spec.Containers) != 1 || len(p.Spec.InitContainers) != 1 {
		return fmt.Errorf("containers %d, init containers %d", len(p.Spec.Containers), len(p.Spec.InitContainers))
	}
	c, ic := p.Spec.Containers[0], p.Spec.InitContainers[0]
	if c.Image != want.Image {
		errs = append(errs, "image "+c.Image)
	}
	if ic.Image != cfg.RunnerImage || strings.Join(ic.Command, " ") != "cp /usr/local/bin/shipgate /shipgate/shipgate" {
		errs = append(errs, fmt.Sprintf("init container %s %v", ic.Image, ic.Command))
	}
	if got := strings.Join(c.Command, " "); got != strings.Join(cfg.Runner, " ")+" idle" {
		errs = append(errs, "command "+got)
	}
	for k, v := range want.Requests {
		if q := c.Resources.Requests[corev1.ResourceName(k)]; q.String() != v {
			errs = append(errs, fmt.Sprintf("request %s=%s", k, q.String()))
		}
	}
	for k, v := range want.Limits {
		if q := c.Resources.Limits[corev1.ResourceName(k)]; q.String() != v {
			errs = append(errs, fmt.Sprintf("limit %s=%s", k, q.String()))
		}
	}
	if fmt.Sprint(p.Spec.NodeSelector) != fmt.Sprint(want.NodeSelector) && !(len(p.Spec.NodeSelector) == 0 && len(want.NodeSelector) == 0) {
		errs = append(errs, fmt.Sprintf("node selector %v", p.Spec.NodeSelector))
	}
	if p.Spec.ServiceAccountName != sa {
		errs = append(errs, "service account "+p.Spec.ServiceAccountName)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["workspace"] != ws || mounts["shipgate-bin"] != "/shipgate" {
		errs = append(errs, fmt.Sprintf("mounts %v", mounts))
	}
	token := false
	for _, v := range p.Spec.Volumes {
		switch {
		case strings.HasPrefix(v.Name, "kube-api-access-"):
			token = true // the ServiceAccount admission plugin's token
		case v.EmptyDir == nil:
			errs = append(errs, "volume "+v.Name+" is not an emptyDir")
		}
	}
	if token != (sa == "builder") {
		errs = append(errs, fmt.Sprintf("service account token mounted %v", token))
	}
	if p.Spec.RestartPolicy != corev1.RestartPolicyNever {
		errs = append(errs, "restart policy "+string(p.Spec.RestartPolicy))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

const sleepers = `on: push
jobs:
  wait:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        n: [1, 2, 3, 4, 5, 6, 7, 8]
    steps:
      - run: echo started; sleep 3600 # MARKER
`

// TestCancelAndTimeoutDeletePods cancels a run while its eight jobs sleep in their
// Pods: the steps end cancelled, their processes are killed, every Pod
// is deleted. Then two jobs outlive their timeout-minutes: the same.
func TestCancelAndTimeoutDeletePods(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	marker := fmt.Sprintf("kube-cancel-%d", time.Now().UnixNano())
	ex, err := New(c.Client, c.Config, c.cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	ws := t.TempDir()
	runCtx, stop := context.WithCancel(ctx)
	var started sync.WaitGroup
	started.Add(8)
	var once sync.Map
	go func() {
		started.Wait()
		time.Sleep(500 * time.Millisecond)
		stop()
	}()
	start := time.Now()
	res, err := engine.Run(runCtx, engine.Options{Workflow: load(t, strings.ReplaceAll(sleepers, "MARKER", marker)), WorkflowPath: "wf.yml",
		Event: plan.Event{Name: "push", Ref: "refs/heads/main"}, GitHub: map[string]any{"sha": "abc", "ref": "refs/heads/main", "repository": "o/r"},
		Parallel: 8, Workspace: ws, StateDir: filepath.Join(ws, ".shipgate"), Executor: ex, Grace: time.Second, Runs: runs(t, filepath.Join(ws, ".shipgate")),
		Sink: func(e engine.Event) {
			if e.Type == "log" && strings.Contains(e.Text, "started") {
				if _, dup := once.LoadOrStore(e.Job, true); !dup {
					started.Done()
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cancelled after %s", time.Since(start).Round(time.Millisecond))
	if res.Status != "cancelled" {
		t.Errorf("run status %s, want cancelled", res.Status)
	}
	if l := left(t, c, LabelManagedBy+"=shipgate"); len(l) != 0 {
		t.Errorf("Pods left after cancel: %v", l)
	}
	if pids := processesWith(marker); len(pids) != 0 {
		t.Errorf("step processes still running after cancel: %v", pids)
	}

	// A job that outlives its timeout-minutes: failed, Pod deleted, step
	// killed.
	marker2 := marker + "-timeout"
	timedOut := strings.ReplaceAll(strings.Replace(sleepers, "    runs-on: ubuntu-latest\n", "    runs-on: ubuntu-latest\n    timeout-minutes: 0.05\n", 1), "MARKER", marker2)
	timedOut = strings.Replace(timedOut, "n: [1, 2, 3, 4, 5, 6, 7, 8]", "n: [1, 2]", 1)
	start = time.Now()
	res, err = engine.Run(ctx, engine.Options{Workflow: load(t, timedOut), WorkflowPath: "wf.yml",
		Event: plan.Event{Name: "push", Ref: "refs/heads/main"}, GitHub: map[string]any{"sha": "abc", "ref": "refs/heads/main", "repository": "o/r"},
		Parallel: 2, Workspace: ws, StateDir: filepath.Join(ws, ".shipgate"), Executor: ex, Grace: time.Second, Runs: runs(t, filepath.Join(ws, ".shipgate"))})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("timed out after %s", time.Since(start).Round(time.Millisecond))
	if res.Status != "failure" {
		t.Errorf("run status %s, want failure", res.Status)
	}
	if l := left(t, c, LabelManagedBy+"=shipgate"); len(l) != 0 {
		t.Errorf("Pods left after the job timeout: %v", l)
	}
	if pids := processesWith(marker2); len(pids) != 0 {
		t.Errorf("step processes still running after the job timeout: %v", pids)
	}
}

// processesWith lists live processes whose command line contains s.
func processesWith(s string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), s) {
			continue
		}
		st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := strings.LastIndexByte(string(st), ')'); i > 0 && strings.HasPrefix(strings.TrimSpace(string(st)[i+1:]), "Z") {
			continue
		}
		out = append(out, e.Name()+" "+strings.ReplaceAll(string(b), "\x00", " "))
	}
	sort.Strings(out)
	return out
}

// TestGCDeletesPodsOfUnknownRuns leaves Pods of two runs behind (no
// Teardown, as after a crash) and garbage-collects the one the server no
// longer knows.
func TestGCDeletesPodsOfUnknownRuns(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, run := range []string{"run-gone", "run-live"} {
		ex, err := New(c.Client, c.Config, c.cfg, run)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			job := &executor.Job{ID: fmt.Sprintf("job %d", i), Workspace: t.TempDir(), TempDir: t.TempDir()}
			if err := ex.Setup(ctx, job); err != nil {
				t.Fatal(err)
			}
			if ph := strings.Join(Phases(job), ">"); ph != "Pending>Running" {
				t.Errorf("phases %s", ph)
			}
		}
	}
	deleted, err := GC(ctx, c.Client, ns, func(run string) bool { return run == "run-live" })
	if err != nil || len(deleted) != 2 {
		t.Fatalf("GC deleted %v, %v", deleted, err)
	}
	for ctx.Err() == nil && len(left(t, c, LabelRun+"=run-gone")) > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	if l := left(t, c, LabelRun+"=run-gone"); len(l) != 0 {
		t.Errorf("Pods of the unknown run left: %v", l)
	}
	if l := left(t, c, LabelRun+"=run-live"); len(l) != 2 {
		t.Errorf("Pods of the live run: %v, want 2", l)
	}
	if deleted, _ := GC(ctx, c.Client, ns, func(string) bool { return false }); len(deleted) != 2 {
		t.Errorf("second GC deleted %v", deleted)
	}
}

// TestStartFailure: a Pod that cannot be scheduled fails Setup after
// StartTimeout with the scheduler's reason, and is deleted.
func TestStartFailure(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := c.cfg
	cfg.Profiles = map[string]Profile{"default": {Image: "x", NodeSelector: map[string]string{"pool": "none"}}}
	cfg.StartTimeout = 3 * time.Second
	ex, err := New(c.Client, c.Config, cfg, "run-unsched")
	if err != nil {
		t.Fatal(err)
	}
	job := &executor.Job{ID: "j", Workspace: t.TempDir(), TempDir: t.TempDir()}
	err = ex.Setup(ctx, job)
	if err == nil || !strings.Contains(err.Error(), "did not start within 3s") || !strings.Contains(err.Error(), "Unschedulable") {
		t.Errorf("Setup: %v", err)
	}
	if l := left(t, c, LabelRun+"=run-unsched"); len(l) != 0 {
		t.Errorf("Pods left: %v", l)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
