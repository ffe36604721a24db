package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/diag"
)

func rulesAt(ds []diag.Diagnostic) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Pos.String()+" "+d.Rule)
	}
	return out
}

// A hardened Deployment gives no finding; each weakening gives exactly its
// rule at the line of the field.
func TestCleanDeploymentAndEachRule(t *testing.T) {
	const clean = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
      - name: web
        image: ghcr.io/acme/web:1.4.2
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true}
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {cpu: "1", memory: 256Mi}
        livenessProbe: {httpGet: {path: /healthz, port: 8080}}
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`
	if ds := Lint("d.yaml", []byte(clean)); len(ds) != 0 {
		t.Fatalf("clean manifest has findings: %v", ds)
	}
	cases := []struct{ from, to, want string }{
		{"ghcr.io/acme/web:1.4.2", "ghcr.io/acme/web", "d.yaml:12:16 " + RuleImageTag},
		{"ghcr.io/acme/web:1.4.2", "web:latest", "d.yaml:12:16 " + RuleImageTag},
		{"allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "d.yaml:13:26 " + RulePrivEscalation},
		{"readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "d.yaml:13:84 " + RuleReadOnlyRootFS},
		{"runAsNonRoot: true", "runAsNonRoot: false", "d.yaml:13:26 " + RuleRunAsNonRoot},
		{"      securityContext: {runAsNonRoot: true}\n", "      hostNetwork: true\n      securityContext: {runAsNonRoot: true}\n", "d.yaml:9:20 " + RuleHostNetwork},
		{"{app: web}}\n    spec:", "{app: other}}\n    spec:", "d.yaml:24:13 " + RuleDanglingService},
		{"        readinessProbe: {httpGet: {path: /ready, port: 8080}}\n", "", "d.yaml:11:13 " + RuleReadinessProbe},
		{"requests: {cpu: 100m, memory: 128Mi}", "requests: {memory: 128Mi}", "d.yaml:15:21 " + RuleRequests},
		{"image: ghcr", "imagee: ghcr", "d.yaml:12:9 " + RuleStrict},
		{"port: 80,", "port: eighty,", "d.yaml:25:18 " + RuleSchema},
	}
	for _, c := range cases {
		src := strings.Replace(clean, c.from, c.to, 1)
		got := rulesAt(Lint("d.yaml", []byte(src)))
		found := false
		for _, g := range got {
			found = found || g == c.want
		}
		if !found {
			t.Errorf("%q -> %q: want %s, got %v", c.from, c.to, c.want, got)
		}
	}
}

func TestUnknownKindIsANote(t *testing.T) {
	ds := Lint("crd.yaml", []byte("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {anything: 1}\n"))
	if len(ds) != 1 || ds[0].Rule != RuleUnknownKind || ds[0].Severity != diag.Info || ds[0].Pos.Line != 2 {
		t.Fatalf("got %v", ds)
	}
}

func TestSyntaxErrorIsPositioned(t *testing.T) {
	ds := Lint("bad.yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a\n"))
	if len(ds) == 0 || ds[0].Rule != RuleParse || ds[0].Pos.Line == 0 {
		t.Fatalf("got %v", ds)
	}
}

func TestAliasBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nx0: &a0 [1,1,1,1,1,1,1,1,1,1]\n")
	for i := 1; i < 12; i++ {
		b.WriteString("x" + string(rune('0'+i%10)) + string(rune('a'+i)) + ": &a" + string(rune('a'+i)) + " [")
		prev := "a0"
		if i > 1 {
			prev = "a" + string(rune('a'+i-1))
		}
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
	}
	ds := Lint("bomb.yaml", []byte(b.String()))
	if len(ds) == 0 {
		t.Fatal("alias bomb gave no finding")
	}
}

// A CRD given with LoadSchemas turns the skipped kind into a validated one,
// with findings at the offending node.
func TestCRDSchema(t *testing.T) {
	dir := t.TempDir()
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer}
`
	if err := os.WriteFile(filepath.Join(dir, "widget-crd.yaml"), []byte(crd), 0o644); err != nil {
		t.Fatal(err)
	}
	l := New()
	if err := l.LoadSchemas(dir); err != nil {
		t.Fatal(err)
	}
	l.Add("w.yaml", []byte("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec:\n  size: big\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: ok}\nspec: {size: 3}\n"))
	ds := l.Finish()
	if len(ds) != 1 || ds[0].Rule != RuleSchema || ds[0].Pos.Line != 5 || !strings.Contains(ds[0].Message, "/spec/size") {
		t.Fatalf("got %v", ds)
	}
	if objs := l.Objects(); len(objs) != 2 || !objs[0].Known || objs[0].Valid || !objs[1].Valid {
		t.Fatalf("objects %+v", objs)
	}
}
