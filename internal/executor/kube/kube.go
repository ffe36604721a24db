// Package kube is the kubernetes executor: each job is a Pod, created
// through the Kubernetes API (client-go) in the configured namespace.
//
// Setup creates the job's Pod from the profile of its runs-on labels
// (image, node selector, resources, service account; see Config), labelled
// shipgate.dev/run and shipgate.dev/job, with two emptyDir volumes: the
// workspace and the runner's temp directory, each mounted at the same
// path it has on the shipgate host, so the engine's paths (GITHUB_WORKSPACE,
// RUNNER_TEMP, the step scripts and command files) mean the same inside
// the Pod. An init container copies the shipgate binary from the runner
// image into a third emptyDir; the job container's main process is that
// binary idling (`shipgate kube-runner idle`), so job images need neither
// shipgate nor a shell of their own to stay up. Setup follows the Pod
// through the watch API until it runs (or fails to: an image that cannot
// be pulled, an unschedulable Pod, StartTimeout), then copies the
// workspace in.
//
// Exec runs a step through the pods/exec subresource in three calls:
// `push` sends the job's temp directory (the step's script and the
// engine's command files) as a tar, `run` runs the step with the same
// step runner as the host executor (its own process group; SIGTERM then
// SIGKILL on timeout) while its output streams back from the API, and
// `pull` brings the temp directory back, with the file where the runner
// wrote the step's exit code, so GITHUB_OUTPUT and GITHUB_ENV reach the
// engine. The exit code travels in that file rather than exec's status
// because not every kubelet (kwok's, in the tests) reports it. On
// cancellation the step's process groups are killed (`reap`).
//
// Teardown deletes the Pod and waits until it is gone; the engine calls it
// after a job's timeout and after cancellation too. GC deletes Pods with
// our labels whose run the server no longer knows.
package kube

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/shipgate/shipgate/internal/executor"
)

// binDir is where the init container puts the shipgate binary.
const binDir = "/shipgate"

// Container names in a job Pod.
const (
	JobContainer    = "job"
	RunnerContainer = "shipgate-runner"
)

// Executor runs jobs as Pods.
type Executor struct {
	Client kubernetes.Interface
	// REST is the client configuration exec streams are opened with.
	REST   *rest.Config
	Config Config
	// Run is the run the Pods belong to (label shipgate.dev/run) when the
	// job does not say (executor.Job.Run).
	Run string
	// Grace is the Pod's termination grace period (default 5s).
	Grace time.Duration
}

// New checks cfg and returns an executor; run labels the Pods of jobs
// that carry no run of their own.
func New(client kubernetes.Interface, rc *rest.Config, cfg Config, run string) (*Executor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Executor{Client: client, REST: rc, Config: cfg, Run: run}, nil
}

// Name is "kubernetes".
func (e *Executor) Name() string { return "kubernetes" }

type jobState struct {
	pod     string
	profile string
	procDir string

	mu     sync.Mutex
	phases []string
}

func (s *jobState) record(phase string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.phases); n == 0 || s.phases[n-1] != phase {
		s.phases = append(s.phases, phase)
	}
}

// Pod is the name of the job's Pod ("" before Setup).
func Pod(job *executor.Job) string {
	if st, ok := job.State.(*jobState); ok {
		return st.pod
	}
	return ""
}

// Phases are the Pod phases Setup and Teardown saw, in order, without
// repeats ("Pending", "Running", ..., "Deleted").
func Phases(job *executor.Job) []string {
	st, ok := job.State.(*jobState)
	if !ok {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]string(nil), st.phases...)
}

var notLabel = regexp.MustCompile(`[^a-z0-9.-]+`)

// labelValue makes s a valid label value (at most 63 characters of
// [a-z0-9.-], alphanumeric at both ends), with a hash of s when it had to
// change.
func labelValue(s string) string {
	v := notLabel.ReplaceAllString(strings.ToLower(s), "-")
	v = strings.Trim(v, "-.")
	if v == s && len(v) <= 63 {
		return v
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:4])
	if len(v) > 54 {
		v = strings.Trim(v[:54], "-.")
	}
	if v == "" {
		return h
	}
	return v + "-" + h
}

// PodSpec is the Pod Setup creates for a job.
func (e *Executor) PodSpec(job *executor.Job) (*corev1.Pod, string, error) {
	name, prof := e.Config.Profile(job.RunsOn)
	run := job.Run
	if run == "" {
		run = e.Run
	}
	res, err := prof.resources()
	if err != nil {
		return nil, "", err
	}
	podLabels := map[string]string{}
	for k, v := range e.Config.Labels {
		podLabels[k] = v
	}
	podLabels[LabelManagedBy] = managedBy
	podLabels[LabelRun] = labelValue(run)
	podLabels[LabelJob] = labelValue(job.ID)
	mounts := []corev1.VolumeMount{{Name: "shipgate-bin", MountPath: binDir}}
	vols := []corev1.Volume{{Name: "shipgate-bin", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	if job.Workspace != "" {
		mounts = append(mounts, corev1.VolumeMount{Name: "workspace", MountPath: job.Workspace})
		vols = append(vols, corev1.Volume{Name: "workspace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}
	if job.TempDir != "" && !within(job.TempDir, job.Workspace) {
		mounts = append(mounts, corev1.VolumeMount{Name: "runner-temp", MountPath: job.TempDir})
		vols = append(vols, corev1.Volume{Name: "runner-temp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}
	grace := int64(5)
	if e.Grace > 0 {
		grace = int64(e.Grace / time.Second)
	}
	no := false
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "shipgate-" + trimName(labelValue(job.ID)) + "-",
			Namespace:    e.Config.Namespace,
			Labels:       podLabels,
			Annotations:  map[string]string{AnnotationJob: job.ID, LabelRun: run},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			NodeSelector:                  prof.NodeSelector,
			ServiceAccountName:            prof.ServiceAccount,
			AutomountServiceAccountToken:  &no,
			TerminationGracePeriodSeconds: &grace,
			EnableServiceLinks:            &no,
			Volumes:                       vols,
			InitContainers: []corev1.Container{{
				Name:         RunnerContainer,
				Image:        e.Config.RunnerImage,
				Command:      []string{"cp", e.Config.RunnerImagePath, binDir + "/shipgate"},
				VolumeMounts: []corev1.VolumeMount{{Name: "shipgate-bin", MountPath: binDir}},
			}},
			Containers: []corev1.Container{{
				Name:         JobContainer,
				Image:        prof.Image,
				Command:      append(append([]string(nil), e.Config.Runner...), "idle"),
				WorkingDir:   job.Workspace,
				Resources:    res,
				VolumeMounts: mounts,
			}},
		},
	}
	if prof.ServiceAccount != "" {
		yes := true
		pod.Spec.AutomountServiceAccountToken = &yes
	}
	return pod, name, nil
}

func trimName(s string) string {
	if len(s) > 40 {
		s = strings.Trim(s[:40], "-.")
	}
	return strings.ReplaceAll(s, ".", "-")
}

func within(path, dir string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// Setup creates the job's Pod, waits for it to run and copies the
// workspace in. On failure the Pod is deleted again.
func (e *Executor) Setup(ctx context.Context, job *executor.Job) error {
	pod, prof, err := e.PodSpec(job)
	if err != nil {
		return fmt.Errorf("kubernetes: %w", err)
	}
	pods := e.Client.CoreV1().Pods(e.Config.Namespace)
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("kubernetes: create the job's Pod: %w", err)
	}
	st := &jobState{pod: created.Name, profile: prof}
	if job.TempDir != "" {
		st.procDir = filepath.Join(job.TempDir, ".shipgate-procs")
	}
	job.State = st
	st.record(string(created.Status.Phase))
	if err := e.waitRunning(ctx, st); err != nil {
		e.deletePod(context.WithoutCancel(ctx), st)
		return err
	}
	if job.Workspace != "" {
		// Streamed: a workspace may be large.
		pr, pw := io.Pipe()
		skipState := func(p string) bool { return filepath.Dir(p) == job.Workspace && filepath.Base(p) == ".shipgate" }
		go func() { pw.CloseWithError(writeTar(pw, []string{job.Workspace}, e.Config.WorkspaceLimit, skipState)) }()
		err := e.exec(ctx, st.pod, []string{"push"}, pr, io.Discard)
		pr.CloseWithError(errors.New("push ended"))
		if err != nil {
			e.deletePod(context.WithoutCancel(ctx), st)
			return fmt.Errorf("kubernetes: copy the workspace into the Pod: %w", err)
		}
	}
	return nil
}

// waitRunning follows the Pod until its job container runs.
func (e *Executor) waitRunning(ctx context.Context, st *jobState) error {
	ctx, cancel := context.WithTimeout(ctx, e.Config.StartTimeout)
	defer cancel()
	pods := e.Client.CoreV1().Pods(e.Config.Namespace)
	sel := fields.OneTermEqualSelector("metadata.name", st.pod).String()
	var last *corev1.Pod
	for {
		l, err := pods.List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return e.startErr(ctx, st, last, err)
		}
		if len(l.Items) == 0 {
			return fmt.Errorf("kubernetes: Pod %s/%s disappeared while starting", e.Config.Namespace, st.pod)
		}
		last = &l.Items[0]
		if done, err := e.started(st, last); done || err != nil {
			return err
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: l.ResourceVersion})
		if err != nil {
			return e.startErr(ctx, st, last, err)
		}
		for ev := range w.ResultChan() {
			if ev.Type == watch.Deleted {
				w.Stop()
				return fmt.Errorf("kubernetes: Pod %s/%s was deleted while starting", e.Config.Namespace, st.pod)
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue // a watch error: list again
			}
			last = p
			if done, err := e.started(st, last); done || err != nil {
				w.Stop()
				return err
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return e.startErr(ctx, st, last, ctx.Err())
		}
	}
}

func (e *Executor) startErr(ctx context.Context, st *jobState, p *corev1.Pod, err error) error {
	why := ""
	if p != nil {
		why = " (" + describe(p) + ")"
	}
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("kubernetes: Pod %s/%s did not start within %s%s", e.Config.Namespace, st.pod, e.Config.StartTimeout, why)
	}
	return fmt.Errorf("kubernetes: Pod %s/%s: %w%s", e.Config.Namespace, st.pod, err, why)
}

// started reports whether the job container runs, or an error when the
// Pod cannot start.
func (e *Executor) started(st *jobState, p *corev1.Pod) (bool, error) {
	st.record(string(p.Status.Phase))
	switch p.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		return false, fmt.Errorf("kubernetes: Pod %s/%s ended before the job (%s)", p.Namespace, p.Name, describe(p))
	}
	for _, cs := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "CrashLoopBackOff":
				return false, fmt.Errorf("kubernetes: Pod %s/%s cannot start: container %s: %s: %s", p.Namespace, p.Name, cs.Name, w.Reason, w.Message)
			}
		}
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return false, fmt.Errorf("kubernetes: Pod %s/%s cannot start: container %s exited %d: %s", p.Namespace, p.Name, cs.Name, t.ExitCode, t.Reason)
		}
	}
	if p.Status.Phase != corev1.PodRunning {
		return false, nil
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == JobContainer && cs.State.Running != nil {
			return true, nil
		}
	}
	return false, nil
}

func describe(p *corev1.Pod) string {
	parts := []string{"phase " + string(p.Status.Phase)}
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Reason != "" {
			parts = append(parts, fmt.Sprintf("%s: %s %s", c.Type, c.Reason, c.Message))
		}
	}
	return strings.Join(parts, "; ")
}

// Exec runs step in the job's Pod.
func (e *Executor) Exec(ctx context.Context, job *executor.Job, step *executor.Step) (*executor.Result, error) {
	st, _ := job.State.(*jobState)
	if st == nil {
		return nil, errors.New("kubernetes: Exec before Setup")
	}
	if len(step.Argv) == 0 {
		return nil, errors.New("kubernetes: empty command")
	}
	if err := ctx.Err(); err != nil {
		return &executor.Result{ExitCode: -1, Cancelled: true}, nil
	}
	start := time.Now()
	dir := step.Dir
	if dir == "" {
		dir = job.Workspace
	}
	resultFile := filepath.Join(job.TempDir, fmt.Sprintf("%s%d", runnerFiles, time.Now().UnixNano()))
	if job.TempDir == "" {
		return nil, errors.New("kubernetes: the job has no temp directory")
	}
	// 1. The step's script and command files (and the event file) into
	// the Pod.
	var buf bytes.Buffer
	if err := writeTar(&buf, append([]string{job.TempDir}, job.Mounts...), 64<<20, func(p string) bool { return p == st.procDir }); err != nil {
		return nil, fmt.Errorf("kubernetes: step %s: %w", step.ID, err)
	}
	if err := e.exec(ctx, st.pod, []string{"push"}, &buf, io.Discard); err != nil {
		if ctx.Err() != nil {
			return &executor.Result{ExitCode: -1, Cancelled: true, Duration: time.Since(start)}, nil
		}
		return nil, fmt.Errorf("kubernetes: step %s: copy the temp directory in: %w", step.ID, err)
	}
	// 2. The step, its output streamed back.
	spec, _ := json.Marshal(stepSpec{Argv: step.Argv, Dir: dir, Env: step.Env, Timeout: step.Timeout,
		Grace: step.Grace, ProcDir: st.procDir, Result: resultFile, Stdin: step.Stdin != nil})
	var stdin io.Reader = bytes.NewReader(append(spec, '\n'))
	if step.Stdin != nil {
		stdin = io.MultiReader(stdin, step.Stdin)
	}
	stdout, stderr := step.Stdout, step.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	cout, cerr := &counter{w: stdout}, &counter{w: stderr}
	runErr := e.execStreams(ctx, st.pod, []string{"run"}, stdin, cout, cerr)
	if ctx.Err() != nil {
		// The API does not stop a process when its exec stream closes.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		e.exec(rctx, st.pod, []string{"reap", st.procDir}, nil, io.Discard)
		cancel()
		return &executor.Result{ExitCode: -1, Cancelled: true, Duration: time.Since(start)}, nil
	}
	// 3. Command files (GITHUB_OUTPUT, GITHUB_ENV, ...) and the result back.
	var out bytes.Buffer
	if err := e.exec(ctx, st.pod, []string{"pull", job.TempDir}, nil, &out); err != nil {
		return nil, fmt.Errorf("kubernetes: step %s: copy the temp directory back: %w", step.ID, err)
	}
	if err := extractTar(&out); err != nil {
		return nil, fmt.Errorf("kubernetes: step %s: copy the temp directory back: %w", step.ID, err)
	}
	// What the stream lost of the output's end.
	for _, f := range []struct {
		c   *counter
		ext string
	}{{cout, ".out"}, {cerr, ".err"}} {
		if b, err := os.ReadFile(resultFile + f.ext); err == nil && int64(len(b)) > f.c.n {
			f.c.w.Write(b[f.c.n:])
		}
		os.Remove(resultFile + f.ext)
	}
	b, err := os.ReadFile(resultFile)
	os.Remove(resultFile)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: step %s: the runner reported no result (%v): %w", step.ID, runErr, err)
	}
	var r stepResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("kubernetes: step %s: result: %w", step.ID, err)
	}
	if r.Error != "" {
		return nil, fmt.Errorf("step %s: %s", step.ID, r.Error)
	}
	return &executor.Result{ExitCode: r.ExitCode, TimedOut: r.TimedOut, Cancelled: r.Cancelled, Duration: time.Since(start)}, nil
}

// counter counts what is written through it.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// exec runs a runner mode and fails on a non-zero exit or stderr output
// from a kubelet that reports no exit codes.
func (e *Executor) exec(ctx context.Context, pod string, mode []string, stdin io.Reader, stdout io.Writer) error {
	var stderr bytes.Buffer
	err := e.execStreams(ctx, pod, mode, stdin, stdout, &stderr)
	if err != nil {
		return fmt.Errorf("%s: %w %s", mode[0], err, strings.TrimSpace(stderr.String()))
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		return fmt.Errorf("%s: %s", mode[0], s)
	}
	return nil
}

// execStreams runs the runner in the job container through pods/exec.
func (e *Executor) execStreams(ctx context.Context, pod string, mode []string, stdin io.Reader, stdout, stderr io.Writer) error {
	argv := append(append([]string(nil), e.Config.Runner...), mode...)
	req := e.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(e.Config.Namespace).Name(pod).
		SubResource("exec").VersionedParams(&corev1.PodExecOptions{Container: JobContainer, Command: argv,
		Stdin: stdin != nil, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	// WebSockets first, SPDY for an apiserver without them, as kubectl.
	ws, err := remotecommand.NewWebSocketExecutor(e.REST, "GET", req.URL().String())
	if err != nil {
		return err
	}
	spdy, err := remotecommand.NewSPDYExecutor(e.REST, "POST", req.URL())
	if err != nil {
		return err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	return ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// Teardown deletes the job's Pod and waits until it is gone.
func (e *Executor) Teardown(ctx context.Context, job *executor.Job) error {
	st, _ := job.State.(*jobState)
	if st == nil {
		return errors.New("kubernetes: Teardown before Setup")
	}
	return e.deletePod(ctx, st)
}

func (e *Executor) deletePod(ctx context.Context, st *jobState) error {
	pods := e.Client.CoreV1().Pods(e.Config.Namespace)
	err := pods.Delete(ctx, st.pod, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		st.record("Deleted")
		return nil
	}
	if err != nil {
		return fmt.Errorf("kubernetes: delete Pod %s: %w", st.pod, err)
	}
	for {
		_, err := pods.Get(ctx, st.pod, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			st.record("Deleted")
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubernetes: Pod %s not gone: %w", st.pod, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// GC deletes the Pods labelled as ours whose run known says is not known
// (nor running), and returns their names, sorted.
func GC(ctx context.Context, client kubernetes.Interface, namespace string, known func(run string) bool) ([]string, error) {
	l, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + managedBy + "," + LabelRun})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: list job Pods: %w", err)
	}
	var deleted []string
	var errs []error
	for _, p := range l.Items {
		run := p.Annotations[LabelRun]
		if run == "" {
			run = p.Labels[LabelRun]
		}
		if known(run) {
			continue
		}
		if err := client.CoreV1().Pods(namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, p.Name)
	}
	sortStrings(deleted)
	return deleted, errors.Join(errs...)
}

var _ executor.Executor = (*Executor)(nil)
