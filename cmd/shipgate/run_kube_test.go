package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipgate/shipgate/internal/executor/kube"
	"github.com/shipgate/shipgate/internal/kubetest"
)

// TestMain lets this test binary serve as `shipgate kube-runner` inside
// the kwok Pods of TestRunExecutorKubernetes (kwok runs exec'd commands
// on this machine).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == kube.RunnerCommand {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const kubeJobs = `on: push
jobs:
  build:
    runs-on: ${{ matrix.size }}
    strategy:
      matrix:
        size: [small, large]
    steps:
      - id: s
        run: echo "v=from-${{ matrix.size }}" >> "$GITHUB_OUTPUT"
      - run: echo "got ${{ steps.s.outputs.v }} on $(cat marker.txt)"
`

// TestRunExecutorKubernetes: `shipgate run --executor kubernetes` against
// a real control plane runs each leg as a Pod of its runs-on profile and
// leaves no Pod behind; a bad --kubernetes-config is exit 2.
func TestRunExecutorKubernetes(t *testing.T) {
	ws, wf := repo(t, kubeJobs)
	store := filepath.Join(ws, "store")
	_, stderr, code := run(t, "run", "-W", wf, "--store", store, "--executor", "kubernetes")
	if code != 2 || !strings.Contains(stderr, "needs --kubernetes-config FILE") {
		t.Errorf("no config: exit %d\n%s", code, stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.yml")
	os.WriteFile(bad, []byte("namespace: ci\nprofiles: {default: {image: x, limits: {memory: lots}}}\n"), 0o644)
	_, stderr, code = run(t, "run", "-W", wf, "--store", store, "--executor", "kubernetes", "--kubernetes-config", bad)
	if code != 2 || !strings.Contains(stderr, "runner_image is required") || !strings.Contains(stderr, `limits.memory: "lots" is not a quantity`) {
		t.Errorf("bad config: exit %d\n%s", code, stderr)
	}

	c := kubetest.Start(t, kubetest.Options{Exec: &kubetest.LocalExec{WorkDir: "/"}})
	ctx := context.Background()
	if err := c.CreateNamespace(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "kube.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`kubeconfig: %s
namespace: ci
runner_image: registry.local/shipgate:test
# kwok runs exec'd commands on this machine: the runner is this binary.
runner: [%q, kube-runner]
profiles:
  default: {image: "registry.local/ci:1"}
  large:
    image: registry.local/ci-large:2
    requests: {cpu: "2", memory: 4Gi}
`, c.Kubeconfig, self)), 0o644)
	os.WriteFile(filepath.Join(ws, "marker.txt"), []byte("the-workspace"), 0o644)
	out, stderr, code := run(t, "run", "-W", wf, "--store", store, "--executor", "kubernetes", "--kubernetes-config", cfg, "--plain")
	if code != 0 || !strings.Contains(out, "got from-small on the-workspace") || !strings.Contains(out, "got from-large on the-workspace") {
		t.Fatalf("kubernetes executor: exit %d\n%s\n%s", code, out, stderr)
	}
	pods, err := c.Client.CoreV1().Pods("ci").List(ctx, metav1.ListOptions{LabelSelector: kube.LabelManagedBy + "=shipgate"})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("Pods left after the run: %v %v", pods, err)
	}
}

// TestDeployProviderKubernetes: `shipgate deploy --provider kubernetes`
// against the real Deployment controller: a canary through 50% to 100%,
// status, then `deploy rollback` undoes to the previous revision.
func TestDeployProviderKubernetes(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{})
	ctx := context.Background()
	if err := c.CreateNamespace(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	replicas := int32(2)
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.local/web:1.0.0"}}}}}}
	if _, err := c.Client.AppsV1().Deployments("prod").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(t.TempDir(), "store")
	k := []string{"--provider", "kubernetes", "--kubeconfig", c.Kubeconfig, "--namespace", "prod", "--deployment", "web", "--store", store}
	out, stderr, code := run(t, append([]string{"deploy", "production", "--version", "1.1.0", "--image", "registry.local/web:1.1.0",
		"--steps", "50,100", "--pause", "0s", "--commit", ""}, k...)...)
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code = run(t, append([]string{"deploy", "status", "production", "--json"}, k...)...)
	var st struct {
		Stable struct {
			Version  string
			Replicas []struct{ Healthy bool }
		}
		Canary any
	}
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Stable.Version != "1.1.0" || len(st.Stable.Replicas) != 2 ||
		!st.Stable.Replicas[0].Healthy || !st.Stable.Replicas[1].Healthy || st.Canary != nil {
		t.Errorf("status: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code = run(t, append([]string{"deploy", "rollback", "production"}, k...)...)
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, stderr)
	}
	got, err := c.Client.AppsV1().Deployments("prod").Get(ctx, "web", metav1.GetOptions{})
	if err != nil || got.Spec.Template.Spec.Containers[0].Image != "registry.local/web:1.0.0" || got.Status.AvailableReplicas != 2 {
		t.Errorf("after rollback: %v %+v", err, got.Status)
	}
}
