package deploy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipgate/shipgate/internal/store"
)

// fakeCluster is client-go's fake clientset with reactors playing the
// Deployment controller: a created or updated Deployment gets a new
// generation, a ReplicaSet for a changed pod template (with the next
// revision) and, after `lag` reads, a status saying its replicas are all
// updated and available (or never, for images named "broken").
type fakeCluster struct {
	cs       *fake.Clientset
	mu       sync.Mutex
	revision map[string]int
	reads    map[string]int
	lag      int
}

func newFakeCluster(t *testing.T, image string, replicas int32) *fakeCluster {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "erlsvc", Namespace: "prod", UID: "uid-erlsvc", Generation: 1,
			Labels: map[string]string{"app": "erlsvc"}, Annotations: map[string]string{VersionAnnotation: "1.0.0"}},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "erlsvc"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "erlsvc"}, Annotations: map[string]string{VersionAnnotation: "1.0.0"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "erlsvc", Image: image}}}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: replicas, UpdatedReplicas: replicas, AvailableReplicas: replicas},
	}
	rs := replicaSetFor(d, 1)
	fc := &fakeCluster{cs: fake.NewSimpleClientset(d, rs), revision: map[string]int{"erlsvc": 1}, reads: map[string]int{}, lag: 2}
	controller := func(action k8stesting.Action) (bool, runtime.Object, error) {
		var obj runtime.Object
		switch a := action.(type) {
		case k8stesting.CreateAction:
			obj = a.GetObject()
		case k8stesting.UpdateAction:
			obj = a.GetObject()
		}
		dep := obj.(*appsv1.Deployment)
		fc.mu.Lock()
		defer fc.mu.Unlock()
		old, err := fc.cs.Tracker().Get(appsv1.SchemeGroupVersion.WithResource("deployments"), dep.Namespace, dep.Name)
		changed := true
		if err == nil {
			prev := old.(*appsv1.Deployment)
			dep.Generation = prev.Generation + 1
			changed = fmt.Sprint(prev.Spec.Template) != fmt.Sprint(dep.Spec.Template)
		} else {
			dep.Generation = 1
		}
		if dep.UID == "" {
			dep.UID = types.UID("uid-" + dep.Name)
		}
		if changed {
			fc.revision[dep.Name]++
			_ = fc.cs.Tracker().Add(replicaSetFor(dep, fc.revision[dep.Name]))
		}
		fc.reads[dep.Name] = 0
		return false, nil, nil // the tracker stores the object
	}
	fc.cs.PrependReactor("create", "deployments", controller)
	fc.cs.PrependReactor("update", "deployments", controller)
	fc.cs.PrependReactor("get", "deployments", func(action k8stesting.Action) (bool, runtime.Object, error) {
		name := action.(k8stesting.GetAction).GetName()
		fc.mu.Lock()
		defer fc.mu.Unlock()
		obj, err := fc.cs.Tracker().Get(appsv1.SchemeGroupVersion.WithResource("deployments"), "prod", name)
		if err != nil {
			return true, nil, err
		}
		dep := obj.(*appsv1.Deployment).DeepCopy()
		fc.reads[name]++
		if fc.reads[name] > fc.lag && !strings.Contains(dep.Spec.Template.Spec.Containers[0].Image, "broken") {
			n := replicasOf(dep)
			dep.Status = appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: n, UpdatedReplicas: n, AvailableReplicas: n, ReadyReplicas: n}
			_ = fc.cs.Tracker().Update(appsv1.SchemeGroupVersion.WithResource("deployments"), dep, "prod")
		}
		return true, dep, nil
	})
	return fc
}

func replicaSetFor(d *appsv1.Deployment, rev int) *appsv1.ReplicaSet {
	tmpl := *d.Spec.Template.DeepCopy()
	tmpl.Labels = copyMap(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey, fmt.Sprintf("h%d", rev))
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-r%d", d.Name, rev), Namespace: d.Namespace,
			Annotations:     map[string]string{revisionAnnotation: fmt.Sprint(rev)},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: d.Name, UID: d.UID}}},
		Spec: appsv1.ReplicaSetSpec{Template: tmpl},
	}
}

func (fc *fakeCluster) provider() *Kubernetes {
	return &Kubernetes{Client: fc.cs, Namespace: "prod", Deployment: "erlsvc", Poll: time.Millisecond, Timeout: 2 * time.Second}
}

func (fc *fakeCluster) canaryReplicasSeen() []int32 {
	var seen []int32
	for _, a := range fc.cs.Actions() {
		if u, ok := a.(k8stesting.UpdateAction); ok && a.GetVerb() == "update" {
			if d, ok := u.GetObject().(*appsv1.Deployment); ok && d.Name == "erlsvc-canary" {
				seen = append(seen, *d.Spec.Replicas)
			}
		}
	}
	return seen
}

func TestKubernetesCanaryPromotes(t *testing.T) {
	fc := newFakeCluster(t, "registry.local/erlsvc:1.0.0", 4)
	k := fc.provider()
	ctx := context.Background()
	out, err := Rollout(ctx, k, Plan{Env: "production", Release: Release{Version: "1.1.0", Image: "registry.local/erlsvc:1.1.0"},
		Steps: []int{10, 50, 100}}, nil, nil)
	if err != nil || out.Result != store.DeploySucceeded || out.Previous != "1.0.0" {
		t.Fatalf("%+v %v", out, err)
	}
	// 10% of 4 replicas rounds up to 1 pod, 50% to 2, 100% to 4.
	if got := fmt.Sprint(fc.canaryReplicasSeen()); got != "[1 2 4]" {
		t.Errorf("canary replicas per step %s, want [1 2 4]", got)
	}
	d, _ := fc.cs.AppsV1().Deployments("prod").Get(ctx, "erlsvc", metav1.GetOptions{})
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.local/erlsvc:1.1.0" || d.Annotations[VersionAnnotation] != "1.1.0" {
		t.Errorf("stable after promotion: %s %v", img, d.Annotations)
	}
	if _, err := fc.cs.AppsV1().Deployments("prod").Get(ctx, "erlsvc-canary", metav1.GetOptions{}); err == nil {
		t.Error("canary Deployment still exists after promotion")
	}
	st, _ := k.Status(ctx, "production")
	if st.Stable.Version != "1.1.0" || st.Canary != nil {
		t.Errorf("status %+v", st)
	}
	// By hand: undo to the previous ReplicaSet (1.0.0).
	if err := k.Rollback(ctx, "production"); err != nil {
		t.Fatal(err)
	}
	d, _ = fc.cs.AppsV1().Deployments("prod").Get(ctx, "erlsvc", metav1.GetOptions{})
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.local/erlsvc:1.0.0" {
		t.Errorf("after undo the image is %s", img)
	}
	if _, ok := d.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; ok {
		t.Error("undo copied the pod-template-hash label")
	}
}

func TestKubernetesRolloutThatNeverBecomesReadyRollsBack(t *testing.T) {
	fc := newFakeCluster(t, "registry.local/erlsvc:1.0.0", 2)
	k := fc.provider()
	k.Timeout = 200 * time.Millisecond
	ctx := context.Background()
	out, err := Rollout(ctx, k, Plan{Env: "production", Release: Release{Version: "1.2.0", Image: "registry.local/erlsvc:broken"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Result != store.DeployFailed || !out.RolledBack || !strings.Contains(out.Reason, "not done within") {
		t.Fatalf("%+v", out)
	}
	if _, err := fc.cs.AppsV1().Deployments("prod").Get(ctx, "erlsvc-canary", metav1.GetOptions{}); err == nil {
		t.Error("canary Deployment left behind")
	}
	d, _ := fc.cs.AppsV1().Deployments("prod").Get(ctx, "erlsvc", metav1.GetOptions{})
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.local/erlsvc:1.0.0" {
		t.Errorf("stable image changed to %s", img)
	}
}

func TestKubernetesMissingDeployment(t *testing.T) {
	k := &Kubernetes{Client: fake.NewSimpleClientset(), Namespace: "prod", Deployment: "nope"}
	err := k.Deploy(context.Background(), "production", Release{Version: "1", Image: "x"})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err %v", err)
	}
}
