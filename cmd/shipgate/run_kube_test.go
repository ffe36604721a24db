package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
