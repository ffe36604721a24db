package kube

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	appsv1beta2 "k8s.io/api/apps/v1beta2"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	autoscalingv2beta1 "k8s.io/api/autoscaling/v2beta1"
	autoscalingv2beta2 "k8s.io/api/autoscaling/v2beta2"
	batchv1 "k8s.io/api/batch/v1"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	storagev1beta1 "k8s.io/api/storage/v1beta1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The schemas are derived from the k8s.io/api Go types (v0.35, Kubernetes
// 1.35): every built-in group/version/kind registered by those packages is
// known, with its fields taken from the json tags. That is the same source
// the API server's OpenAPI document is generated from, so no schema files
// are embedded or downloaded.
var (
	schemeOnce sync.Once
	knownTypes map[schema.GroupVersionKind]reflect.Type
)

func types() map[schema.GroupVersionKind]reflect.Type {
	schemeOnce.Do(func() {
		s := runtime.NewScheme()
		for _, add := range []func(*runtime.Scheme) error{
			admissionregistrationv1.AddToScheme,
			appsv1.AddToScheme, appsv1beta1.AddToScheme, appsv1beta2.AddToScheme,
			autoscalingv1.AddToScheme, autoscalingv2.AddToScheme, autoscalingv2beta1.AddToScheme, autoscalingv2beta2.AddToScheme,
			batchv1.AddToScheme, batchv1beta1.AddToScheme,
			certificatesv1.AddToScheme, coordinationv1.AddToScheme,
			corev1.AddToScheme, discoveryv1.AddToScheme, eventsv1.AddToScheme,
			extensionsv1beta1.AddToScheme, flowcontrolv1.AddToScheme,
			networkingv1.AddToScheme, networkingv1beta1.AddToScheme, nodev1.AddToScheme,
			policyv1.AddToScheme, policyv1beta1.AddToScheme,
			rbacv1.AddToScheme, rbacv1beta1.AddToScheme,
			schedulingv1.AddToScheme, storagev1.AddToScheme, storagev1beta1.AddToScheme,
		} {
			if err := add(s); err != nil {
				panic(err) // static registration; cannot fail
			}
		}
		knownTypes = map[schema.GroupVersionKind]reflect.Type{}
		for gvk, t := range s.AllKnownTypes() {
			switch gvk.Kind {
			case "WatchEvent", "ListOptions", "GetOptions", "DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions", "InternalEvent":
				continue
			}
			knownTypes[gvk] = t
		}
	})
	return knownTypes
}

// lookupType finds the Go type for apiVersion and kind.
func lookupType(apiVersion, kind string) (reflect.Type, bool) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false
	}
	t, ok := types()[gv.WithKind(kind)]
	return t, ok
}

var (
	quantityType    = reflect.TypeFor[resource.Quantity]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
	timeType        = reflect.TypeFor[metav1.Time]()
	microTimeType   = reflect.TypeFor[metav1.MicroTime]()
	durationType    = reflect.TypeFor[metav1.Duration]()
	rawExtType      = reflect.TypeFor[runtime.RawExtension]()
	fieldsV1Type    = reflect.TypeFor[metav1.FieldsV1]()
	byteSliceType   = reflect.TypeFor[[]byte]()
)

// schemaIssue is one place where a document does not fit its kind's type.
type schemaIssue struct {
	n      *node
	strict bool // unknown field or duplicate key (kubeconform's -strict)
	msg    string
}

type field struct {
	name     string
	typ      reflect.Type
	required bool
}

var fieldCache sync.Map // reflect.Type -> map[string]field

// fieldsOf lists a struct's JSON fields, with embedded inline structs
// flattened. A field is required when its json tag has no omitempty: the
// Kubernetes API conventions give every optional field omitempty.
func fieldsOf(t reflect.Type) map[string]field {
	if v, ok := fieldCache.Load(t); ok {
		return v.(map[string]field)
	}
	out := map[string]field{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range fieldsOf(ft) {
					v.required = false
					out[k] = v
				}
			}
			continue
		}
		if strings.Contains(opts, "inline") {
			continue
		}
		if name == "" {
			name = f.Name
		}
		req := !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero")
		// Fields of these kinds decode from absence to a usable zero value
		// and the API server defaults them; only object/array/string
		// fields are treated as required.
		if f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() != reflect.Struct {
			req = false // *string, *int32...: optional by construction
		}
		if t.Name() == "StatefulSetSpec" && name == "serviceName" {
			req = false // optional since Kubernetes 1.30; the tag lags
		}
		switch f.Type.Kind() {
		case reflect.Bool, reflect.Int32, reflect.Int64, reflect.Int, reflect.Float64, reflect.Map:
			req = req && (name == "containerPort" || name == "port" || name == "maxReplicas")
		}
		out[name] = field{name: name, typ: f.Type, required: req}
	}
	fieldCache.Store(t, out)
	return out
}

// walker checks a node tree against a Go type.
type walker struct {
	issues []schemaIssue
	budget int
}

func (w *walker) add(n *node, strict bool, format string, args ...any) {
	if len(w.issues) < 200 {
		w.issues = append(w.issues, schemaIssue{n: n, strict: strict, msg: fmt.Sprintf(format, args...)})
	}
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (w *walker) walk(n *node, t reflect.Type, path string) {
	w.budget--
	if w.budget < 0 || n == nil || n.kind == nullNode {
		return // null is accepted anywhere, as the API server does
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case quantityType:
		if n.kind != strNode && n.kind != intNode && n.kind != floatNode {
			w.add(n, false, "%s: expected a quantity (string or number), got %s", path, n.kind)
		} else if _, err := resource.ParseQuantity(n.value); err != nil {
			w.add(n, false, "%s: %q is not a valid quantity", path, n.value)
		}
		return
	case intOrStringType:
		if n.kind != strNode && n.kind != intNode {
			w.add(n, false, "%s: expected an integer or a string, got %s", path, n.kind)
		}
		return
	case timeType, microTimeType, durationType:
		if n.kind != strNode {
			w.add(n, false, "%s: expected a string, got %s", path, n.kind)
		}
		return
	case rawExtType, fieldsV1Type:
		return
	case byteSliceType:
		if n.kind != strNode {
			w.add(n, false, "%s: expected a base64 string, got %s", path, n.kind)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.kind != mapNode {
			w.add(n, false, "%s: expected an object (%s), got %s", orRoot(path), t.Name(), n.kind)
			return
		}
		fields := fieldsOf(t)
		for _, d := range n.dups {
			w.add(n.keys[d], true, "%s: duplicate key %q", orRoot(path), n.keys[d].value)
		}
		seen := map[string]bool{}
		for i, k := range n.keys {
			f, ok := fields[k.value]
			if !ok {
				w.add(k, true, "%s: unknown field %q in %s", orRoot(path), k.value, t.Name())
				continue
			}
			seen[k.value] = true
			w.walk(n.vals[i], f.typ, joinPath(path, k.value))
		}
		for name, f := range fields {
			if f.required && !seen[name] {
				w.add(n, false, "%s: missing required field %q in %s", orRoot(path), name, t.Name())
			}
		}
	case reflect.Slice, reflect.Array:
		if n.kind != seqNode {
			w.add(n, false, "%s: expected an array, got %s", path, n.kind)
			return
		}
		for i, it := range n.items {
			w.walk(it, t.Elem(), path+"["+strconv.Itoa(i)+"]")
		}
	case reflect.Map:
		if n.kind != mapNode {
			w.add(n, false, "%s: expected an object, got %s", path, n.kind)
			return
		}
		for _, d := range n.dups {
			w.add(n.keys[d], true, "%s: duplicate key %q", path, n.keys[d].value)
		}
		for i, k := range n.keys {
			w.walk(n.vals[i], t.Elem(), joinPath(path, k.value))
		}
	case reflect.String:
		if n.kind != strNode {
			w.add(n, false, "%s: expected a string, got %s %s", path, n.kind, n.value)
		}
	case reflect.Bool:
		if n.kind != boolNode {
			w.add(n, false, "%s: expected a boolean, got %s %q", path, n.kind, n.value)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch n.kind {
		case intNode:
			if _, err := strconv.ParseInt(n.value, 0, 64); err != nil {
				w.add(n, false, "%s: integer %s out of range", path, n.value)
			}
		case floatNode:
			if f, err := strconv.ParseFloat(n.value, 64); err != nil || f != float64(int64(f)) {
				w.add(n, false, "%s: expected an integer, got %s", path, n.value)
			}
		default:
			w.add(n, false, "%s: expected an integer, got %s %q", path, n.kind, n.value)
		}
	case reflect.Float32, reflect.Float64:
		if n.kind != intNode && n.kind != floatNode {
			w.add(n, false, "%s: expected a number, got %s %q", path, n.kind, n.value)
		}
	case reflect.Interface:
		// any value
	}
}

func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}
