package kube

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Config is the kubernetes executor's part of the server configuration.
//
//	namespace: ci
//	runner_image: registry.example/shipgate:1.4.0
//	profiles:
//	  default: {image: debian:bookworm}
//	  linux-large:
//	    image: registry.example/build:2
//	    node_selector: {pool: large}
//	    requests: {cpu: "2", memory: 4Gi}
//	    limits: {memory: 8Gi}
//	    service_account: ci-builder
//
// A job runs with the profile of its first runs-on label that names one,
// else the "default" profile.
type Config struct {
	// Namespace holds the job Pods.
	Namespace string `json:"namespace" yaml:"namespace"`
	// Profiles map a runs-on label to the Pod a job gets.
	Profiles map[string]Profile `json:"profiles" yaml:"profiles"`
	// RunnerImage holds the shipgate binary at RunnerImagePath; an init
	// container copies it (with cp) into the Pod, so job images need not
	// contain shipgate.
	RunnerImage string `json:"runner_image" yaml:"runner_image"`
	// RunnerImagePath is the binary's path in RunnerImage (default
	// /usr/local/bin/shipgate).
	RunnerImagePath string `json:"runner_image_path,omitempty" yaml:"runner_image_path,omitempty"`
	// Runner is the argv prefix that starts the runner in the job
	// container (default [/shipgate/shipgate kube-runner], the copied
	// binary). Tests on a simulated node point it at a local binary.
	Runner []string `json:"runner,omitempty" yaml:"runner,omitempty"`
	// StartTimeout bounds the wait for a Pod to run (default 5 minutes).
	StartTimeout time.Duration `json:"start_timeout,omitempty" yaml:"start_timeout,omitempty"`
	// WorkspaceLimit bounds the workspace copied into a Pod at Setup
	// (default 512 MiB).
	WorkspaceLimit int64 `json:"workspace_limit,omitempty" yaml:"workspace_limit,omitempty"`
	// Labels are added to every Pod.
	Labels map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
}

// Profile is the Pod of a runs-on label.
type Profile struct {
	// Image is the job container's image.
	Image string `json:"image" yaml:"image"`
	// NodeSelector places the Pod.
	NodeSelector map[string]string `json:"node_selector,omitempty" yaml:"node_selector,omitempty"`
	// Requests and Limits are resource quantities ("cpu": "500m").
	Requests map[string]string `json:"requests,omitempty" yaml:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty" yaml:"limits,omitempty"`
	// ServiceAccount is the Pod's service account (default: the
	// namespace's default).
	ServiceAccount string `json:"service_account,omitempty" yaml:"service_account,omitempty"`
}

// DefaultProfile is the profile of a job none of whose labels has one.
const DefaultProfile = "default"

// Labels the executor puts on every Pod.
const (
	LabelRun       = "shipgate.dev/run"
	LabelJob       = "shipgate.dev/job"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "shipgate"
	// AnnotationJob holds the job's full ID (label values are limited).
	AnnotationJob = "shipgate.dev/job-id"
)

// Validate checks the configuration and fills defaults; every problem is
// reported at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Namespace == "" {
		errs = append(errs, errors.New("namespace is required"))
	} else if msgs := validation.IsDNS1123Label(c.Namespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("namespace %q: %s", c.Namespace, strings.Join(msgs, "; ")))
	}
	if c.RunnerImage == "" {
		errs = append(errs, errors.New("runner_image is required (an image holding the shipgate binary)"))
	}
	if _, ok := c.Profiles[DefaultProfile]; !ok {
		errs = append(errs, errors.New(`profiles: a "default" profile is required`))
	}
	names := make([]string, 0, len(c.Profiles))
	for n := range c.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := c.Profiles[n]
		if p.Image == "" {
			errs = append(errs, fmt.Errorf("profiles.%s: image is required", n))
		}
		if _, err := p.resources(); err != nil {
			errs = append(errs, fmt.Errorf("profiles.%s: %w", n, err))
		}
	}
	for k, v := range c.Labels {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("labels: %q: %s", k, strings.Join(msgs, "; ")))
		}
		if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("labels.%s: %q: %s", k, v, strings.Join(msgs, "; ")))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("kubernetes executor config: %w", errors.Join(errs...))
	}
	if c.RunnerImagePath == "" {
		c.RunnerImagePath = "/usr/local/bin/shipgate"
	}
	if len(c.Runner) == 0 {
		c.Runner = []string{binDir + "/shipgate", RunnerCommand}
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 5 * time.Minute
	}
	if c.WorkspaceLimit <= 0 {
		c.WorkspaceLimit = 512 << 20
	}
	return nil
}

// Profile returns the profile for a job's runs-on labels.
func (c *Config) Profile(labels []string) (string, Profile) {
	for _, l := range labels {
		if p, ok := c.Profiles[l]; ok {
			return l, p
		}
	}
	return DefaultProfile, c.Profiles[DefaultProfile]
}

func (p Profile) resources() (corev1.ResourceRequirements, error) {
	var r corev1.ResourceRequirements
	parse := func(what string, m map[string]string) (corev1.ResourceList, error) {
		if len(m) == 0 {
			return nil, nil
		}
		l := corev1.ResourceList{}
		for k, v := range m {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %q is not a quantity (like 500m or 2Gi)", what, k, v)
			}
			l[corev1.ResourceName(k)] = q
		}
		return l, nil
	}
	var err error
	if r.Requests, err = parse("requests", p.Requests); err != nil {
		return r, err
	}
	if r.Limits, err = parse("limits", p.Limits); err != nil {
		return r, err
	}
	return r, nil
}

func sortStrings(s []string) { sort.Strings(s) }
