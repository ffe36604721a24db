package deploy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
)

// Kubernetes annotations and labels the provider writes.
const (
	VersionAnnotation  = "shipgate.dev/version"
	TrackLabel         = "shipgate.dev/track"
	revisionAnnotation = "deployment.kubernetes.io/revision"
)

// Kubernetes is the kubernetes provider. The stable version is an existing
// Deployment; a canary is a second Deployment, NAME-canary, with the same
// pod template but the new image, scaled to the step's share of the stable
// replica count (a Service selecting both splits traffic by replicas).
// Promotion sets the stable Deployment's image and deletes the canary;
// Rollback by hand undoes the stable Deployment to its previous ReplicaSet,
// as `kubectl rollout undo` does. Every change waits for the rollout
// status (observed generation, updated and available replicas).
type Kubernetes struct {
	Client     kubernetes.Interface
	Namespace  string
	Deployment string
	// Container is the container whose image is set (default the first).
	Container string
	// Timeout bounds each wait for a rollout (default 5 minutes); Poll is
	// the interval between checks (default 1s).
	Timeout, Poll time.Duration
}

// NewKubernetesFromConfig builds the provider from a kubeconfig (empty:
// $KUBECONFIG or ~/.kube/config, or the in-cluster configuration).
func NewKubernetesFromConfig(kubeconfig, kubeContext, namespace, deployment, container string) (*Kubernetes, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	return &Kubernetes{Client: cs, Namespace: namespace, Deployment: deployment, Container: container}, nil
}

// Name is "kubernetes".
func (k *Kubernetes) Name() string { return "kubernetes" }

func (k *Kubernetes) canaryName() string { return k.Deployment + "-canary" }

func (k *Kubernetes) deployments() interface {
	Get(context.Context, string, metav1.GetOptions) (*appsv1.Deployment, error)
	Create(context.Context, *appsv1.Deployment, metav1.CreateOptions) (*appsv1.Deployment, error)
	Update(context.Context, *appsv1.Deployment, metav1.UpdateOptions) (*appsv1.Deployment, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
} {
	return k.Client.AppsV1().Deployments(k.Namespace)
}

func (k *Kubernetes) container(d *appsv1.Deployment) (int, error) {
	cs := d.Spec.Template.Spec.Containers
	if len(cs) == 0 {
		return 0, fmt.Errorf("deployment %s has no containers", d.Name)
	}
	if k.Container == "" {
		return 0, nil
	}
	for i, c := range cs {
		if c.Name == k.Container {
			return i, nil
		}
	}
	return 0, fmt.Errorf("deployment %s has no container %q", d.Name, k.Container)
}

func versionOf(d *appsv1.Deployment, ci int) string {
	if v := d.Annotations[VersionAnnotation]; v != "" {
		return v
	}
	return d.Spec.Template.Spec.Containers[ci].Image
}

func replicasOf(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// Status reads both Deployments.
func (k *Kubernetes) Status(ctx context.Context, env string) (*Status, error) {
	st := &Status{Env: env, Provider: "kubernetes", Running: true,
		Detail: fmt.Sprintf("deployment %s/%s", k.Namespace, k.Deployment)}
	stable, err := k.deployments().Get(ctx, k.Deployment, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	ci, err := k.container(stable)
	if err != nil {
		return nil, err
	}
	st.Stable = trackOf(stable, ci)
	canary, err := k.deployments().Get(ctx, k.canaryName(), metav1.GetOptions{})
	if err == nil {
		st.Canary = trackOf(canary, ci)
		total := replicasOf(stable) + replicasOf(canary)
		if total > 0 {
			st.Weight = int(math.Round(100 * float64(replicasOf(canary)) / float64(total)))
		}
	}
	return st, nil
}

func trackOf(d *appsv1.Deployment, ci int) *Track {
	t := &Track{Version: versionOf(d, ci)}
	for i := int32(0); i < replicasOf(d); i++ {
		t.Replicas = append(t.Replicas, Replica{Name: fmt.Sprintf("%s-%d", d.Name, i), Healthy: i < d.Status.AvailableReplicas})
	}
	return t
}

// Deploy creates (or replaces) the canary Deployment with no replicas.
func (k *Kubernetes) Deploy(ctx context.Context, env string, rel Release) error {
	if rel.Image == "" {
		return errors.New("the kubernetes provider needs --image")
	}
	stable, err := k.deployments().Get(ctx, k.Deployment, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("deployment %s/%s does not exist: create it (kubectl apply) before the first rollout", k.Namespace, k.Deployment)
	}
	if err != nil {
		return fmt.Errorf("kubernetes: %w", err)
	}
	ci, err := k.container(stable)
	if err != nil {
		return err
	}
	canary := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: k.canaryName(), Namespace: k.Namespace,
			Labels:      copyMap(stable.Labels, TrackLabel, "canary"),
			Annotations: map[string]string{VersionAnnotation: rel.Version}},
		Spec: *stable.Spec.DeepCopy(),
	}
	zero := int32(0)
	canary.Spec.Replicas = &zero
	canary.Spec.Selector = stable.Spec.Selector.DeepCopy()
	if canary.Spec.Selector == nil {
		canary.Spec.Selector = &metav1.LabelSelector{}
	}
	canary.Spec.Selector.MatchLabels = copyMap(canary.Spec.Selector.MatchLabels, TrackLabel, "canary")
	canary.Spec.Template.Labels = copyMap(canary.Spec.Template.Labels, TrackLabel, "canary")
	canary.Spec.Template.Spec.Containers[ci].Image = rel.Image
	for _, name := range sortedKeys(rel.Env) {
		c := &canary.Spec.Template.Spec.Containers[ci]
		c.Env = append(c.Env, envVar(name, rel.Env[name]))
	}
	_ = k.deployments().Delete(ctx, k.canaryName(), metav1.DeleteOptions{})
	if _, err := k.deployments().Create(ctx, canary, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create %s: %w", k.canaryName(), err)
	}
	return k.wait(ctx, k.canaryName())
}

// SetWeight scales the canary to percent of the stable replica count
// (rounded up, so any step above 0 runs at least one canary pod).
func (k *Kubernetes) SetWeight(ctx context.Context, env string, percent int) error {
	var n int32
	// The controller writes status meanwhile: a conflict reads again.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		stable, err := k.deployments().Get(ctx, k.Deployment, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("kubernetes: %w", err)
		}
		canary, err := k.deployments().Get(ctx, k.canaryName(), metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("no canary to scale: %w", err)
		}
		n = int32(math.Ceil(float64(replicasOf(stable)) * float64(percent) / 100))
		canary.Spec.Replicas = &n
		_, err = k.deployments().Update(ctx, canary, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("scale %s to %d: %w", k.canaryName(), n, err)
	}
	return k.wait(ctx, k.canaryName())
}

// Promote sets the stable Deployment's image to the canary's, waits for
// its rollout, and deletes the canary. A stable rollout that fails (its
// progress deadline passes, or the provider's Timeout) is undone to the
// previous revision before the error is returned, so the stable
// Deployment is never left half-way to a release that does not start.
func (k *Kubernetes) Promote(ctx context.Context, env string) error {
	canary, err := k.deployments().Get(ctx, k.canaryName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kubernetes: %w", err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		stable, err := k.deployments().Get(ctx, k.Deployment, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ci, err := k.container(stable)
		if err != nil {
			return err
		}
		stable.Spec.Template.Spec.Containers[ci] = *canary.Spec.Template.Spec.Containers[ci].DeepCopy()
		if stable.Annotations == nil {
			stable.Annotations = map[string]string{}
		}
		stable.Annotations[VersionAnnotation] = canary.Annotations[VersionAnnotation]
		if stable.Spec.Template.Annotations == nil {
			stable.Spec.Template.Annotations = map[string]string{}
		}
		stable.Spec.Template.Annotations[VersionAnnotation] = canary.Annotations[VersionAnnotation]
		_, err = k.deployments().Update(ctx, stable, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("update %s: %w", k.Deployment, err)
	}
	if err := k.wait(ctx, k.Deployment); err != nil {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		rev, uerr := k.undo(uctx)
		if uerr != nil {
			return fmt.Errorf("%w; undo failed: %v", err, uerr)
		}
		return fmt.Errorf("%w; %s undone to revision %d", err, k.Deployment, rev)
	}
	return k.Abort(ctx, env)
}

// Abort deletes the canary Deployment.
func (k *Kubernetes) Abort(ctx context.Context, env string) error {
	err := k.deployments().Delete(ctx, k.canaryName(), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", k.canaryName(), err)
	}
	return nil
}

// Rollback aborts a canary, or undoes the stable Deployment to the pod
// template of its previous ReplicaSet revision.
func (k *Kubernetes) Rollback(ctx context.Context, env string) error {
	if _, err := k.deployments().Get(ctx, k.canaryName(), metav1.GetOptions{}); err == nil {
		return k.Abort(ctx, env)
	}
	_, err := k.undo(ctx)
	return err
}

// undo rolls the stable Deployment back to the pod template of its
// previous ReplicaSet revision, as `kubectl rollout undo` does, waits for
// the rollout and returns the revision it went back to.
func (k *Kubernetes) undo(ctx context.Context) (int64, error) {
	var prevRev int64
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := k.deployments().Get(ctx, k.Deployment, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("kubernetes: %w", err)
		}
		rss, err := k.Client.AppsV1().ReplicaSets(k.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("kubernetes: %w", err)
		}
		type rev struct {
			n  int64
			rs appsv1.ReplicaSet
		}
		var owned []rev
		for _, rs := range rss.Items {
			for _, o := range rs.OwnerReferences {
				if o.Kind == "Deployment" && o.Name == d.Name && (d.UID == "" || o.UID == d.UID) {
					n, _ := strconv.ParseInt(rs.Annotations[revisionAnnotation], 10, 64)
					owned = append(owned, rev{n, rs})
				}
			}
		}
		sort.Slice(owned, func(i, j int) bool { return owned[i].n > owned[j].n })
		if len(owned) < 2 {
			return fmt.Errorf("deployment %s has no previous revision to undo to", d.Name)
		}
		prev := owned[1].rs
		prevRev = owned[1].n
		tmpl := *prev.Spec.Template.DeepCopy()
		delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
		d.Spec.Template = tmpl
		if d.Annotations == nil {
			d.Annotations = map[string]string{}
		}
		if v := tmpl.Annotations[VersionAnnotation]; v != "" {
			d.Annotations[VersionAnnotation] = v
		} else {
			delete(d.Annotations, VersionAnnotation)
		}
		_, err = k.deployments().Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("undo %s to revision %d: %w", k.Deployment, prevRev, err)
	}
	return prevRev, k.wait(ctx, k.Deployment)
}

// wait polls a Deployment until its rollout is complete, as `kubectl
// rollout status` does.
func (k *Kubernetes) wait(ctx context.Context, name string) error {
	timeout, poll := k.Timeout, k.Poll
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	if poll <= 0 {
		poll = time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		d, err := k.deployments().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("rollout status %s: %w", name, err)
		}
		want := replicasOf(d)
		s := d.Status
		// A status the controller wrote for an older generation says
		// nothing about this rollout (a past ProgressDeadlineExceeded
		// stays in it until the controller syncs the new spec).
		observed := s.ObservedGeneration >= d.Generation
		if observed && s.UpdatedReplicas == want && s.AvailableReplicas == want && s.Replicas == want {
			return nil
		}
		for _, c := range s.Conditions {
			if observed && c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
				return fmt.Errorf("rollout of %s failed: ProgressDeadlineExceeded: %s", name, c.Message)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rollout of %s not done within %s: %d/%d updated, %d available%s", name, timeout, s.UpdatedReplicas, want, s.AvailableReplicas, k.notReady(ctx, d))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// notReady says why a Pod of the Deployment is not ready (the first one,
// by name), as `kubectl describe pod` would: "; pod NAME: Ready=False
// ContainersNotReady: message". Empty when it cannot tell.
func (k *Kubernetes) notReady(ctx context.Context, d *appsv1.Deployment) string {
	if d.Spec.Selector == nil {
		return ""
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return ""
	}
	pods, err := k.Client.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return ""
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status != corev1.ConditionTrue {
				why := strings.TrimSpace(c.Reason + ": " + c.Message)
				for _, cs := range p.Status.ContainerStatuses {
					if w := cs.State.Waiting; w != nil {
						why = fmt.Sprintf("container %s waiting: %s %s", cs.Name, w.Reason, w.Message)
					}
				}
				return fmt.Sprintf("; pod %s (phase %s) not ready: %s", p.Name, p.Status.Phase, strings.TrimSpace(why))
			}
		}
		if p.Status.Phase == corev1.PodPending && len(p.Status.Conditions) > 0 {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
					return fmt.Sprintf("; pod %s not scheduled: %s", p.Name, c.Message)
				}
			}
		}
	}
	return ""
}

func copyMap(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

var _ Provider = (*Kubernetes)(nil)
