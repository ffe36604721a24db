package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/shipgate/shipgate/internal/kubetest"
	"github.com/shipgate/shipgate/internal/store"
)

// TestKubernetesAgainstRealControlPlane drives the kubernetes provider
// against a real kube-apiserver, with the real Deployment and ReplicaSet
// controllers and scheduler (kwok plays the node): a canary through 10%
// and 50% to promotion, a release whose Pods never become ready rolled
// back, and an undo by hand, each checked as `kubectl rollout history`
// and `kubectl rollout status` would show it.
func TestKubernetesAgainstRealControlPlane(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cs := c.Client
	if err := c.CreateNamespace(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	replicas, deadline := int32(4), int32(30)
	labels := map[string]string{"app": "erlsvc"}
	stable := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "erlsvc", Namespace: "prod", Labels: labels,
			Annotations: map[string]string{VersionAnnotation: "1.0.0"}},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, ProgressDeadlineSeconds: &deadline,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{VersionAnnotation: "1.0.0"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "erlsvc", Image: "registry.local/erlsvc:1.0.0"}}}}},
	}
	if _, err := cs.AppsV1().Deployments("prod").Create(ctx, stable, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k := &Kubernetes{Client: cs, Namespace: "prod", Deployment: "erlsvc", Poll: 100 * time.Millisecond, Timeout: 2 * time.Minute}
	if err := k.wait(ctx, "erlsvc"); err != nil {
		t.Fatalf("the first rollout: %v", err)
	}
	if got := rolloutHistory(t, cs, "erlsvc"); got != "1 registry.local/erlsvc:1.0.0 4/4" {
		t.Fatalf("history after create: %s", got)
	}

	// 1. A canary: 10% (1 of 4 pods), 50% (2 pods), 100% (4), promoted.
	rec := watchCanary(t, ctx, cs)
	start := time.Now()
	out, err := Rollout(ctx, k, Plan{Env: "production", Release: Release{Version: "1.1.0", Image: "registry.local/erlsvc:1.1.0"},
		Steps: []int{10, 50, 100}}, nil, nil)
	if err != nil || out.Result != store.DeploySucceeded || out.Previous != "1.0.0" {
		t.Fatalf("canary rollout: %+v %v\n%s", out, err, dumpCluster(cs))
	}
	t.Logf("canary 10%%/50%%/100%% and promotion took %s", time.Since(start).Round(time.Millisecond))
	// The canary Deployment was really scaled and each step became ready.
	if got := rec.readySteps(); got != "[1 2 4]" {
		t.Errorf("canary replicas ready at each step %s, want [1 2 4] (seen %v)", got, rec.seen())
	}
	if got := rolloutHistory(t, cs, "erlsvc"); got != "1 registry.local/erlsvc:1.0.0 0/0; 2 registry.local/erlsvc:1.1.0 4/4" {
		t.Errorf("history after promotion: %s", got)
	}
	waitGone(t, ctx, cs, "track=canary")
	st, err := k.Status(ctx, "production")
	if err != nil || st.Stable.Version != "1.1.0" || st.Canary != nil || healthy(st.Stable) != 4 {
		t.Errorf("status after promotion: %+v %v", st, err)
	}
	if n := runningReady(t, cs, "app=erlsvc", "registry.local/erlsvc:1.1.0"); n != 4 {
		t.Errorf("%d ready 1.1.0 pods, want 4", n)
	}

	// 2. A release whose pods never pass readiness: the step's wait times
	// out (scaling a Deployment is not a rollout, so the controller's
	// progress deadline does not apply: like `kubectl rollout status
	// --timeout`, the provider's Timeout does), the canary is deleted,
	// the stable Deployment is untouched.
	k.Timeout = 10 * time.Second
	start = time.Now()
	out, err = Rollout(ctx, k, Plan{Env: "production", Release: Release{Version: "1.2.0", Image: "registry.local/erlsvc:1.2.0-" + kubetest.NeverReadyMarker},
		Steps: []int{10, 50, 100}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failed canary rolled back after %s: %s", time.Since(start).Round(time.Millisecond), out.Reason)
	if out.Result != store.DeployFailed || !out.RolledBack || !strings.Contains(out.Reason, "step 10%: rollout of erlsvc-canary not done within 10s: 1/1 updated, 0 available; pod erlsvc-canary-") ||
		!strings.Contains(out.Reason, "not ready: ContainersNotReady: readiness probe failed") {
		t.Errorf("never-ready rollout: %+v", out)
	}
	waitGone(t, ctx, cs, "track=canary")
	if got := rolloutHistory(t, cs, "erlsvc"); got != "1 registry.local/erlsvc:1.0.0 0/0; 2 registry.local/erlsvc:1.1.0 4/4" {
		t.Errorf("history after the failed canary: %s", got)
	}
	if n := runningReady(t, cs, "app=erlsvc", "registry.local/erlsvc:1.1.0"); n != 4 {
		t.Errorf("%d ready 1.1.0 pods after the failed canary, want 4", n)
	}

	// 3. Undo by hand (deploy rollback, `kubectl rollout undo`): the
	// 1.0.0 ReplicaSet becomes the newest revision again.
	start = time.Now()
	if err := k.Rollback(ctx, "production"); err != nil {
		t.Fatal(err)
	}
	t.Logf("undo to 1.0.0 took %s", time.Since(start).Round(time.Millisecond))
	if got := rolloutHistory(t, cs, "erlsvc"); got != "2 registry.local/erlsvc:1.1.0 0/0; 3 registry.local/erlsvc:1.0.0 4/4" {
		t.Errorf("history after undo: %s", got)
	}
	if st, err := k.Status(ctx, "production"); err != nil || st.Stable.Version != "1.0.0" || healthy(st.Stable) != 4 {
		t.Errorf("status after undo: %+v %v", st, err)
	}
	if n := runningReady(t, cs, "app=erlsvc", "registry.local/erlsvc:1.0.0"); n != 4 {
		t.Errorf("%d ready 1.0.0 pods after undo, want 4", n)
	}

	k.Timeout = 2 * time.Minute
	// 4. A promotion whose stable rollout never becomes ready (promoted
	// straight from a canary with no traffic) is undone by the provider.
	start = time.Now()
	if err := k.Deploy(ctx, "production", Release{Version: "1.3.0", Image: "registry.local/erlsvc:1.3.0-" + kubetest.NeverReadyMarker}); err != nil {
		t.Fatal(err)
	}
	err = k.Promote(ctx, "production")
	if err == nil || !strings.Contains(err.Error(), "ProgressDeadlineExceeded") || !strings.Contains(err.Error(), "undone to revision 3") {
		t.Errorf("promoting a never-ready release: %v", err)
	}
	if err := k.Abort(ctx, "production"); err != nil {
		t.Fatal(err)
	}
	t.Logf("failed promotion undone after %s", time.Since(start).Round(time.Millisecond))
	if got := rolloutHistory(t, cs, "erlsvc"); got != "2 registry.local/erlsvc:1.1.0 0/0; 4 registry.local/erlsvc:1.3.0-never-ready 0/0; 5 registry.local/erlsvc:1.0.0 4/4" {
		t.Errorf("history after the undone promotion: %s", got)
	}
	if st, err := k.Status(ctx, "production"); err != nil || st.Stable.Version != "1.0.0" || healthy(st.Stable) != 4 || st.Canary != nil {
		t.Errorf("status after the undone promotion: %+v %v", st, err)
	}
	waitGone(t, ctx, cs, "track=canary")
}

// dumpCluster describes the Deployments, ReplicaSets and Pods for a
// failure message.
func dumpCluster(cs kubernetes.Interface) string {
	ctx := context.Background()
	var b strings.Builder
	ds, _ := cs.AppsV1().Deployments("prod").List(ctx, metav1.ListOptions{})
	for _, d := range ds.Items {
		fmt.Fprintf(&b, "deployment %s gen %d/%d replicas %d updated %d ready %d available %d\n", d.Name, d.Status.ObservedGeneration, d.Generation,
			d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas)
		for _, c := range d.Status.Conditions {
			fmt.Fprintf(&b, "  %s=%s %s: %s (updated %s)\n", c.Type, c.Status, c.Reason, c.Message, c.LastUpdateTime.Format(time.RFC3339))
		}
	}
	rss, _ := cs.AppsV1().ReplicaSets("prod").List(ctx, metav1.ListOptions{})
	for _, rs := range rss.Items {
		fmt.Fprintf(&b, "replicaset %s rev %s image %s spec %d status %d ready %d available %d\n", rs.Name, rs.Annotations[revisionAnnotation],
			rs.Spec.Template.Spec.Containers[0].Image, replicasOfRS(&rs), rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas)
	}
	pods, _ := cs.CoreV1().Pods("prod").List(ctx, metav1.ListOptions{})
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "pod %s node %q phase %s image %s deleting %v conditions", p.Name, p.Spec.NodeName, p.Status.Phase, p.Spec.Containers[0].Image, p.DeletionTimestamp != nil)
		for _, c := range p.Status.Conditions {
			fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func replicasOfRS(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// rolloutHistory is `kubectl rollout history` with each revision's image and
// ready/desired replicas: "REV IMAGE READY/DESIRED; ...", by revision.
func rolloutHistory(t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	ctx := context.Background()
	d, err := cs.AppsV1().Deployments("prod").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// ReplicaSet status lags its spec briefly: wait for it to settle.
	var out string
	for i := 0; i < 100; i++ {
		rss, err := cs.AppsV1().ReplicaSets("prod").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			rev  int
			text string
		}
		var rows []row
		settled := true
		for _, rs := range rss.Items {
			if !metav1.IsControlledBy(&rs, d) {
				continue
			}
			var rev int
			fmt.Sscan(rs.Annotations[revisionAnnotation], &rev)
			want := int32(0)
			if rs.Spec.Replicas != nil {
				want = *rs.Spec.Replicas
			}
			if rs.Status.Replicas != want || rs.Status.ObservedGeneration < rs.Generation {
				settled = false
			}
			rows = append(rows, row{rev, fmt.Sprintf("%d %s %d/%d", rev, rs.Spec.Template.Spec.Containers[0].Image, rs.Status.ReadyReplicas, want)})
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].rev < rows[j].rev })
		var parts []string
		for _, r := range rows {
			parts = append(parts, r.text)
		}
		out = strings.Join(parts, "; ")
		if settled {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return out
}

func healthy(tr *Track) int {
	n := 0
	for _, r := range tr.Replicas {
		if r.Healthy {
			n++
		}
	}
	return n
}

// runningReady counts the Running and Ready pods with the image.
func runningReady(t *testing.T, cs kubernetes.Interface, selector, image string) int {
	t.Helper()
	pods, err := cs.CoreV1().Pods("prod").List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || p.Spec.Containers[0].Image != image {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n
}

// waitGone waits until no Pod or ReplicaSet matches the selector (the
// garbage collector deletes a deleted Deployment's ReplicaSets and Pods).
func waitGone(t *testing.T, ctx context.Context, cs kubernetes.Interface, selector string) {
	t.Helper()
	for {
		pods, err1 := cs.CoreV1().Pods("prod").List(ctx, metav1.ListOptions{LabelSelector: selector})
		rss, err2 := cs.AppsV1().ReplicaSets("prod").List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err1 == nil && err2 == nil && len(pods.Items) == 0 && len(rss.Items) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: pods or replica sets left: %v %v", selector, err1, err2)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// canaryRecorder watches the canary Deployment: for each spec.replicas
// it was scaled to, the most replicas seen ready.
type canaryRecorder struct {
	mu    sync.Mutex
	order []int32
	ready map[int32]int32
}

func watchCanary(t *testing.T, ctx context.Context, cs kubernetes.Interface) *canaryRecorder {
	t.Helper()
	w, err := cs.AppsV1().Deployments("prod").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=erlsvc-canary"})
	if err != nil {
		t.Fatal(err)
	}
	r := &canaryRecorder{ready: map[int32]int32{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			want := replicasOf(d)
			r.mu.Lock()
			if _, ok := r.ready[want]; !ok {
				r.order = append(r.order, want)
				r.ready[want] = 0
			}
			if d.Status.ObservedGeneration >= d.Generation && d.Status.ReadyReplicas > r.ready[want] {
				r.ready[want] = d.Status.ReadyReplicas
			}
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.Stop(); <-done })
	return r
}

// readySteps lists, for each non-zero scale, the replicas seen ready.
func (r *canaryRecorder) readySteps() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int32
	for _, n := range r.order {
		if n > 0 {
			out = append(out, r.ready[n])
		}
	}
	return fmt.Sprint(out)
}

func (r *canaryRecorder) seen() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(r.order, r.ready)
}
