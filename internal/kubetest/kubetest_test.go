package kubetest

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestControlPlane starts the control plane, schedules a Pod on the kwok
// node, sees it Running and Ready, deletes it, and after Stop finds no
// component process left.
func TestControlPlane(t *testing.T) {
	start := time.Now()
	c, err := StartIn(t.TempDir(), Options{Logf: t.Logf})
	if err != nil {
		if c != nil {
			c.Stop()
		}
		t.Fatal(err)
	}
	t.Logf("started in %s", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pids := c.Pids()
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if pids[name] == 0 {
			t.Errorf("%s not started", name)
		}
	}
	v, err := c.Client.Discovery().ServerVersion()
	if err != nil || v.GitVersion != KubernetesVersion {
		t.Errorf("server version %v, %v; want %s", v, err, KubernetesVersion)
	}

	for _, img := range []string{"registry.local/app:1", "registry.local/app:" + NeverReadyMarker} {
		name := "p-" + strings.NewReplacer(":", "-", "/", "-", ".", "-").Replace(img)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: img}}}}
		if _, err := c.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var got *corev1.Pod
		for ctx.Err() == nil {
			got, err = c.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err == nil && got.Status.Phase == corev1.PodRunning {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got == nil || got.Spec.NodeName != NodeName || got.Status.Phase != corev1.PodRunning {
			t.Fatalf("pod %s not scheduled and running: %+v", name, got)
		}
		wantReady := !strings.Contains(img, NeverReadyMarker)
		if r := podReady(got); r != wantReady {
			t.Errorf("pod %s ready = %v, want %v", name, r, wantReady)
		}
		t.Logf("pod %s running (ready %v) %s after start", name, wantReady, time.Since(start).Round(time.Millisecond))
		if err := c.Client.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		for ctx.Err() == nil {
			if _, err := c.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if l, _ := c.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("%d pods left after delete", len(l.Items))
	}

	stopStart := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %s", time.Since(stopStart).Round(time.Millisecond))
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) alive after Stop", name, pid)
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
