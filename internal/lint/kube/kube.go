// Package kube reviews Kubernetes manifests offline.
//
// The flow for a set of files (one `shipgate lint` run):
//
//  1. Add parses each file as a YAML stream (multi-document; a v1 List is
//     opened into its items) into a small positioned tree.
//  2. Each object is matched to its built-in kind by apiVersion and kind and
//     checked against the kind's k8s.io/api Go type: wrong types, missing
//     required fields (kube/schema) and, strictly, unknown fields and
//     duplicate keys (kube/strict). Kinds the types do not know (CRDs,
//     OpenShift kinds) are skipped with an info note (kube/unknown-kind).
//  3. Objects that carry a pod spec (Pod, Deployment, StatefulSet,
//     DaemonSet, ReplicaSet, ReplicationController, Job, CronJob,
//     PodTemplate) are decoded into their typed form and checked the way
//     kube-linter and kube-score users expect: resources, image tags,
//     security context, probes, host namespaces.
//  4. Finish runs the checks that need every object: services whose
//     selector matches no pod template.
//
// Every finding is positioned at the YAML node it is about.
package kube

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/lint/ruleset"
	corev1 "k8s.io/api/core/v1"
)

// Rule IDs this package reports.
const (
	RuleParse           = "kube/parse"
	RuleSchema          = "kube/schema"
	RuleStrict          = "kube/strict"
	RuleUnknownKind     = "kube/unknown-kind"
	RuleRemovedAPI      = "kube/removed-api"
	RuleImageTag        = "kube/image-tag"
	RuleRequests        = "kube/requests"
	RuleLimits          = "kube/limits"
	RuleRunAsNonRoot    = "kube/run-as-non-root"
	RulePrivEscalation  = "kube/privilege-escalation"
	RulePrivileged      = "kube/privileged"
	RuleReadOnlyRootFS  = "kube/read-only-root-fs"
	RuleLivenessProbe   = "kube/liveness-probe"
	RuleReadinessProbe  = "kube/readiness-probe"
	RuleHostNetwork     = "kube/host-network"
	RuleHostPID         = "kube/host-pid"
	RuleHostIPC         = "kube/host-ipc"
	RuleDanglingService = "kube/dangling-service"
	helpURI             = "https://github.com/shipgate/shipgate/blob/main/docs/lint-rules.md"
)

// RuleInfo describes a rule: its ID, default severity and summary.
type RuleInfo = ruleset.Rule

// Rules lists every rule of this package with its default severity.
var Rules = ruleset.Set{
	{ID: RuleParse, Severity: diag.Error, Summary: "the file is not valid YAML"},
	{ID: RuleSchema, Severity: diag.Error, Summary: "the object does not fit its kind's schema (type, required field)"},
	{ID: RuleStrict, Severity: diag.Error, Summary: "unknown field or duplicate key (the API server drops or rejects it)"},
	{ID: RuleUnknownKind, Severity: diag.Info, Summary: "kind without a built-in schema (CRD or vendor kind): skipped"},
	{ID: RuleRemovedAPI, Severity: diag.Warning, Summary: "apiVersion removed from current Kubernetes releases"},
	{ID: RuleImageTag, Severity: diag.Error, Summary: "container image without a tag, or with latest"},
	{ID: RuleRequests, Severity: diag.Warning, Summary: "container without cpu or memory requests"},
	{ID: RuleLimits, Severity: diag.Warning, Summary: "container without cpu or memory limits"},
	{ID: RuleRunAsNonRoot, Severity: diag.Warning, Summary: "container may run as root (runAsNonRoot not set, runAsUser/runAsGroup 0)"},
	{ID: RulePrivEscalation, Severity: diag.Error, Summary: "container allows privilege escalation"},
	{ID: RulePrivileged, Severity: diag.Error, Summary: "privileged container"},
	{ID: RuleReadOnlyRootFS, Severity: diag.Warning, Summary: "container without readOnlyRootFilesystem: true"},
	{ID: RuleLivenessProbe, Severity: diag.Warning, Summary: "long-running container without a liveness probe"},
	{ID: RuleReadinessProbe, Severity: diag.Warning, Summary: "long-running container without a readiness probe"},
	{ID: RuleHostNetwork, Severity: diag.Error, Summary: "pod shares the host's network namespace"},
	{ID: RuleHostPID, Severity: diag.Error, Summary: "pod shares the host's process namespace"},
	{ID: RuleHostIPC, Severity: diag.Error, Summary: "pod shares the host's IPC namespace"},
	{ID: RuleDanglingService, Severity: diag.Warning, Summary: "service selector matches no pod template in the reviewed files"},
}

// DiagRules returns Rules in the form SARIF's rule table wants.
func DiagRules() []diag.Rule { return Rules.Diag(helpURI) }

func severity(id string) diag.Severity { return Rules.Severity(id) }

// Looks reports whether src looks like Kubernetes manifests: some document
// has a top-level apiVersion and kind.
func Looks(src []byte) bool { return looksLikeManifest(src) }

// Object is one reviewed Kubernetes object.
type Object struct {
	File       string `json:"file"`
	Line       int    `json:"line"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	// Known is false for kinds without a built-in schema (skipped).
	Known bool `json:"known"`
	// Valid is true when the object fits its schema (no kube/schema or
	// kube/strict finding).
	Valid bool `json:"valid"`
}

// Linter reviews a set of manifest files; create it with New, feed files
// with Add, and call Finish for the cross-object checks.
type Linter struct {
	out     []diag.Diagnostic
	objects []*object
	schemas *schemaSet
}

type object struct {
	Object
	root *node
	// typed is the decoded k8s.io/api object, nil for unknown kinds.
	typed any
}

// New returns an empty Linter.
func New() *Linter { return &Linter{} }

func (l *Linter) report(file string, n *node, rule, format string, args ...any) {
	p := diag.Pos{File: file}
	if n != nil {
		p.Line, p.Col = n.line, n.col
	}
	l.out = append(l.out, diag.Diagnostic{Pos: p, Rule: rule, Severity: severity(rule), Message: fmt.Sprintf(format, args...)})
}

// Add reviews one file of manifests (YAML or JSON, one or more documents).
// Documents without apiVersion or kind are reported as schema errors.
func (l *Linter) Add(file string, src []byte) {
	docs, err := parseStream(src)
	if err != nil {
		pe, ok := err.(*parseError)
		if !ok {
			pe = toParseError(err)
		}
		l.out = append(l.out, diag.Diagnostic{Pos: diag.Pos{File: file, Line: pe.line, Col: pe.col}, Rule: RuleParse, Severity: diag.Error, Message: pe.msg})
	}
	for _, d := range docs {
		l.addObject(file, d.root, 0)
	}
}

// Objects returns every object reviewed so far, in input order.
func (l *Linter) Objects() []Object {
	out := make([]Object, len(l.objects))
	for i, o := range l.objects {
		out[i] = o.Object
	}
	return out
}

func (l *Linter) addObject(file string, root *node, depth int) {
	if root.kind != mapNode {
		l.report(file, root, RuleSchema, "a Kubernetes object must be a mapping, got %s", root.kind)
		return
	}
	o := &object{root: root, Object: Object{
		File: file, Line: root.line,
		APIVersion: root.str("apiVersion"), Kind: root.str("kind"),
		Name: root.at("metadata").str("name"), Namespace: root.at("metadata").str("namespace"),
	}}
	if o.Name == "" {
		o.Name = root.at("metadata").str("generateName")
	}
	if o.APIVersion == "" || o.Kind == "" {
		missing := "kind"
		if o.APIVersion == "" {
			missing = "apiVersion"
		}
		l.report(file, root, RuleSchema, "object has no %s", missing)
		l.objects = append(l.objects, o)
		return
	}
	if o.Kind == "List" || (strings.HasSuffix(o.Kind, "List") && o.APIVersion == "v1") {
		items := root.get("items")
		if items != nil && items.kind != seqNode && items.kind != nullNode {
			l.report(file, items, RuleSchema, "items: expected an array, got %s", items.kind)
		}
		if items != nil && items.kind == seqNode && depth < 5 {
			for _, it := range items.items {
				l.addObject(file, it, depth+1)
			}
		}
		return
	}
	l.objects = append(l.objects, o)
	if since, ok := removedAPIs[o.APIVersion+"/"+o.Kind]; ok {
		l.report(file, root.at("apiVersion"), RuleRemovedAPI, "%s %s was removed in Kubernetes %s", o.APIVersion, o.Kind, since)
	} else if since, ok := removedAPIs[o.APIVersion]; ok {
		l.report(file, root.at("apiVersion"), RuleRemovedAPI, "%s was removed in Kubernetes %s", o.APIVersion, since)
	}
	t, ok := lookupType(o.APIVersion, o.Kind)
	if !ok {
		if sch := l.schemas.find(o.APIVersion, o.Kind); sch != nil {
			o.Known = true
			l.validateCustom(o, sch)
			return
		}
		l.report(file, root.at("kind"), RuleUnknownKind, "no built-in schema for %s %s (a CRD or vendor kind): skipped; give its CRD or JSON schema with --schemas", o.APIVersion, o.Kind)
		return
	}
	o.Known = true
	w := &walker{budget: maxNodes}
	w.walk(root, t, "")
	if w.budget < 0 {
		l.report(file, root, RuleSchema, "object too large or too deeply aliased to check (more than %d nodes)", maxNodes)
		return
	}
	o.Valid = len(w.issues) == 0
	for _, is := range w.issues {
		rule := RuleSchema
		if is.strict {
			rule = RuleStrict
		}
		l.report(file, is.n, rule, "%s %s: %s", o.Kind, o.Name, is.msg)
	}
	// Decode into the typed object for the checks. Type errors were reported
	// above; the decoder keeps what it can.
	budget := maxNodes
	b, err := json.Marshal(root.toAny(&budget))
	if err != nil || budget < 0 {
		return
	}
	v := reflect.New(t).Interface()
	_ = json.Unmarshal(b, v)
	o.typed = v
	l.checkObject(o)
}

// removedAPIs maps apiVersion (or apiVersion/Kind) to the release that
// removed it.
var removedAPIs = map[string]string{
	"extensions/v1beta1":                        "1.22 (Ingress) / 1.16 (workloads)",
	"apps/v1beta1":                              "1.16",
	"apps/v1beta2":                              "1.16",
	"batch/v1beta1":                             "1.25",
	"policy/v1beta1":                            "1.25",
	"autoscaling/v2beta1":                       "1.25",
	"autoscaling/v2beta2":                       "1.26",
	"networking.k8s.io/v1beta1":                 "1.22",
	"rbac.authorization.k8s.io/v1beta1":         "1.22",
	"storage.k8s.io/v1beta1/CSIStorageCapacity": "1.27",
}

// podSpecOf returns the pod spec an object carries, its path, the pod
// template's labels and whether it runs to completion (Job, CronJob, Pod
// with restartPolicy Never/OnFailure).
func podSpecOf(o *object) (spec *corev1.PodSpec, path []any, labels map[string]string, batch bool) {
	v := reflect.ValueOf(o.typed)
	if !v.IsValid() || v.IsNil() {
		return nil, nil, nil, false
	}
	switch o.Kind {
	case "Pod":
		p, ok := o.typed.(*corev1.Pod)
		if !ok {
			return nil, nil, nil, false
		}
		batch = p.Spec.RestartPolicy == corev1.RestartPolicyNever || p.Spec.RestartPolicy == corev1.RestartPolicyOnFailure
		return &p.Spec, []any{"spec"}, p.Labels, batch
	case "PodTemplate":
		p, ok := o.typed.(*corev1.PodTemplate)
		if !ok {
			return nil, nil, nil, false
		}
		return &p.Template.Spec, []any{"template", "spec"}, p.Template.Labels, false
	}
	// Workloads: find Spec.Template (a PodTemplateSpec) or
	// Spec.JobTemplate.Spec.Template by reflection, which covers every
	// API version of Deployment, StatefulSet, DaemonSet, ReplicaSet,
	// ReplicationController, Job and CronJob alike.
	specV := v.Elem().FieldByName("Spec")
	if !specV.IsValid() || specV.Kind() != reflect.Struct {
		return nil, nil, nil, false
	}
	path = []any{"spec"}
	if jt := specV.FieldByName("JobTemplate"); jt.IsValid() && jt.Kind() == reflect.Struct {
		specV = jt.FieldByName("Spec")
		path = append(path, "jobTemplate", "spec")
		batch = true
	}
	if o.Kind == "Job" {
		batch = true
	}
	tmpl := specV.FieldByName("Template")
	if !tmpl.IsValid() {
		return nil, nil, nil, false
	}
	if tmpl.Kind() == reflect.Pointer {
		if tmpl.IsNil() {
			return nil, nil, nil, false
		}
		tmpl = tmpl.Elem()
	}
	pt, ok := tmpl.Addr().Interface().(*corev1.PodTemplateSpec)
	if !ok {
		return nil, nil, nil, false
	}
	return &pt.Spec, append(path, "template", "spec"), pt.Labels, batch
}

// checkObject runs the per-object checks on workloads.
func (l *Linter) checkObject(o *object) {
	spec, path, _, batch := podSpecOf(o)
	if spec == nil {
		return
	}
	specNode := o.root.at(path...)
	what := fmt.Sprintf("%s %s", o.Kind, o.Name)
	if spec.HostNetwork {
		l.report(o.File, specNode.at("hostNetwork"), RuleHostNetwork, "%s shares the host's network namespace (hostNetwork: true)", what)
	}
	if spec.HostPID {
		l.report(o.File, specNode.at("hostPID"), RuleHostPID, "%s shares the host's process namespace (hostPID: true)", what)
	}
	if spec.HostIPC {
		l.report(o.File, specNode.at("hostIPC"), RuleHostIPC, "%s shares the host's IPC namespace (hostIPC: true)", what)
	}
	psc := spec.SecurityContext
	check := func(c *corev1.Container, field string, i int, init bool) {
		cn := specNode.at(field, i)
		cw := fmt.Sprintf("%s: container %q", what, c.Name)
		if ref := c.Image; ref != "" && !strings.Contains(ref, "@") {
			switch tag := imageTag(ref); tag {
			case "":
				l.report(o.File, cn.at("image"), RuleImageTag, "%s uses image %q without a tag: pin a version or a digest", cw, ref)
			case "latest":
				l.report(o.File, cn.at("image"), RuleImageTag, "%s uses image %q with the latest tag: pin a version or a digest", cw, ref)
			}
		}
		sc := c.SecurityContext
		if sc != nil && sc.Privileged != nil && *sc.Privileged {
			l.report(o.File, cn.at("securityContext", "privileged"), RulePrivileged, "%s is privileged", cw)
		}
		if esc, why := escalates(sc); esc {
			l.report(o.File, cn.at("securityContext"), RulePrivEscalation, "%s allows privilege escalation (%s)", cw, why)
		}
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			l.report(o.File, cn.at("securityContext", "readOnlyRootFilesystem"), RuleReadOnlyRootFS, "%s does not set readOnlyRootFilesystem: true", cw)
		}
		if msg := rootIssue(psc, sc); msg != "" {
			l.report(o.File, cn.at("securityContext"), RuleRunAsNonRoot, "%s %s", cw, msg)
		}
		if init {
			return
		}
		req, lim := c.Resources.Requests, c.Resources.Limits
		var noReq, noLim []string
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := req[r]; !ok || q.IsZero() {
				noReq = append(noReq, string(r))
			}
			if q, ok := lim[r]; !ok || q.IsZero() {
				noLim = append(noLim, string(r))
			}
		}
		if len(noReq) > 0 {
			l.report(o.File, cn.at("resources", "requests"), RuleRequests, "%s has no %s request", cw, strings.Join(noReq, " or "))
		}
		if len(noLim) > 0 {
			l.report(o.File, cn.at("resources", "limits"), RuleLimits, "%s has no %s limit", cw, strings.Join(noLim, " or "))
		}
		if !batch {
			if c.LivenessProbe == nil {
				l.report(o.File, cn, RuleLivenessProbe, "%s has no liveness probe", cw)
			}
			if c.ReadinessProbe == nil {
				l.report(o.File, cn, RuleReadinessProbe, "%s has no readiness probe", cw)
			}
		}
	}
	for i := range spec.InitContainers {
		check(&spec.InitContainers[i], "initContainers", i, true)
	}
	for i := range spec.Containers {
		check(&spec.Containers[i], "containers", i, false)
	}
}

// escalates reports whether a container may gain privileges, as
// kube-linter's privilege-escalation-container check defines it.
func escalates(sc *corev1.SecurityContext) (bool, string) {
	if sc == nil {
		return false, ""
	}
	if sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
		return true, "allowPrivilegeEscalation: true"
	}
	if sc.Privileged != nil && *sc.Privileged {
		return true, "privileged: true"
	}
	if sc.Capabilities != nil && slices.ContainsFunc(sc.Capabilities.Add, func(c corev1.Capability) bool {
		return strings.EqualFold(strings.TrimPrefix(string(c), "CAP_"), "SYS_ADMIN")
	}) {
		return true, "adds CAP_SYS_ADMIN"
	}
	return false, ""
}

// rootIssue says why a container may run as root, given the pod's and the
// container's security context (the container's overrides the pod's).
func rootIssue(psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) string {
	var nonRoot *bool
	var user, group *int64
	if psc != nil {
		nonRoot, user, group = psc.RunAsNonRoot, psc.RunAsUser, psc.RunAsGroup
	}
	if sc != nil {
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		if sc.RunAsUser != nil {
			user = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			group = sc.RunAsGroup
		}
	}
	switch {
	case user != nil && *user == 0:
		return "runs as user 0 (root)"
	case group != nil && *group == 0:
		return "runs with group 0 (root)"
	case (nonRoot == nil || !*nonRoot) && (user == nil || *user == 0):
		return "is not set to runAsNonRoot (and runAsUser is not a non-zero UID)"
	}
	return ""
}

// imageTag returns an image reference's tag, or "" when it has none.
func imageTag(ref string) string {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ""
	}
	return ref[i+1:]
}

// Finish runs the cross-object checks and returns every finding, sorted.
func (l *Linter) Finish() []diag.Diagnostic {
	type tmpl struct {
		ns     string
		labels map[string]string
	}
	var pods []tmpl
	for _, o := range l.objects {
		if o.typed == nil {
			continue
		}
		if spec, _, labels, _ := podSpecOf(o); spec != nil {
			pods = append(pods, tmpl{ns: o.Namespace, labels: labels})
		}
	}
	for _, o := range l.objects {
		svc, ok := o.typed.(*corev1.Service)
		if !ok || len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		matched := slices.ContainsFunc(pods, func(p tmpl) bool {
			if p.ns != o.Namespace {
				return false
			}
			for k, v := range svc.Spec.Selector {
				if p.labels[k] != v {
					return false
				}
			}
			return true
		})
		if !matched {
			keys := make([]string, 0, len(svc.Spec.Selector))
			for k, v := range svc.Spec.Selector {
				keys = append(keys, k+"="+v)
			}
			slices.Sort(keys)
			l.report(o.File, o.root.at("spec", "selector"), RuleDanglingService, "Service %s: selector %s matches no pod template in the reviewed files", o.Name, strings.Join(keys, ","))
		}
	}
	diag.Sort(l.out)
	return l.out
}

// Lint reviews one file on its own (Add then Finish).
func Lint(file string, src []byte) []diag.Diagnostic {
	l := New()
	l.Add(file, src)
	return l.Finish()
}
