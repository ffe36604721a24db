package main

import (
	"fmt"
	"io"
	"os"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/shipgate/shipgate/internal/executor/kube"
)

// kubeRunnerCmd is the hidden command the kubernetes executor runs inside
// a job's Pod (see internal/executor/kube).
func (a *app) kubeRunnerCmd() *cobra.Command {
	return &cobra.Command{
		Use:                kube.RunnerCommand + " MODE [ARGS]",
		Short:              "The step runner inside a kubernetes executor Pod (internal)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			if code := kube.RunnerMain(args, a.stdin, a.stdout, a.stderr); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

// kubeExecutorFile is --kubernetes-config: where the cluster is and the
// executor's configuration (kube.Config).
type kubeExecutorFile struct {
	// Kubeconfig and Context select the cluster (default: $KUBECONFIG,
	// ~/.kube/config, or the in-cluster configuration).
	Kubeconfig  string `yaml:"kubeconfig"`
	Context     string `yaml:"context"`
	kube.Config `yaml:",inline"`
}

// kubeExecutor reads --kubernetes-config and connects to the cluster.
// Problems with the file are usage errors (exit 2).
func kubeExecutor(path string) (*kube.Executor, error) {
	if path == "" {
		return nil, usageError("--executor kubernetes needs --kubernetes-config FILE (namespace, runner_image, profiles)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError("--kubernetes-config: %v", err)
	}
	var f kubeExecutorFile
	if err := yaml.UnmarshalWithOptions(b, &f, yaml.Strict()); err != nil {
		return nil, usageError("%s: %v", path, err)
	}
	if err := f.Config.Validate(); err != nil {
		return nil, usageError("%s: %v", path, err)
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if f.Kubeconfig != "" {
		rules.ExplicitPath = f.Kubeconfig
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: f.Context}).ClientConfig()
	if err != nil {
		return nil, usageError("%s: kubernetes: %v", path, err)
	}
	// client-go logs through klog to stderr; its complaints about exec
	// streams closed by a cancellation would garble the run's output.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	return kube.New(cs, rc, f.Config, "")
}
