package lint

import (
	"slices"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/gate"
)

func findings(r *gate.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Pos.String()+" "+f.Rule)
	}
	return out
}

// The test repository has one file of each kind, found by content (the
// Dockerfile named build-env has no extension); its suppressions with
// reasons silence exactly the findings they name.
func TestRepo(t *testing.T) {
	r, err := Run([]string{"testdata/repo"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := r.Data.(*Data)
	var kinds []string
	for _, f := range data.Files {
		kinds = append(kinds, f.Path+"="+string(f.Kind))
	}
	want := []string{
		"testdata/repo/.github/workflows/ci.yml=workflow",
		"testdata/repo/deploy/api.yaml=kubernetes",
		"testdata/repo/images/api.containerfile=dockerfile",
		"testdata/repo/images/build-env=dockerfile",
	}
	if !slices.Equal(kinds, want) {
		t.Errorf("files:\n got %v\nwant %v", kinds, want)
	}
	got := findings(r)
	wantF := []string{
		"testdata/repo/.github/workflows/ci.yml:9:15 workflow/unpinned-action",
		"testdata/repo/images/build-env:2:1 dockerfile/healthcheck",
		"testdata/repo/images/build-env:2:1 dockerfile/no-user",
		"testdata/repo/images/build-env:3:23 DL3008",
		"testdata/repo/images/build-env:3:23 DL3009",
		"testdata/repo/images/build-env:3:23 DL3015",
	}
	if !slices.Equal(got, wantF) {
		t.Errorf("findings:\n got %v\nwant %v", got, wantF)
	}
	if data.Suppressed != 3 {
		t.Errorf("suppressed %d, want 3 (unpinned-action, healthcheck, kube/limits)", data.Suppressed)
	}
	if r.Verdict != gate.Warn {
		t.Errorf("verdict %s, want warn", r.Verdict)
	}
}

func TestConfigOffAndSeverity(t *testing.T) {
	cfg, err := ParseConfig("lint.yml", []byte("rules:\n  DL3008: off\n  DL3009: error\nignore:\n  - \"**/.github/**\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run([]string{"testdata/repo"}, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(findings(r), "\n")
	if strings.Contains(got, "DL3008") || strings.Contains(got, "ci.yml") {
		t.Errorf("DL3008 off and .github ignored, got\n%s", got)
	}
	if r.Verdict != gate.Fail {
		t.Errorf("DL3009 raised to error: verdict %s, want fail", r.Verdict)
	}
}

func TestBadConfigIsPositioned(t *testing.T) {
	for src, want := range map[string]string{
		"rules:\n  DL3008: loud\n":   "not off, error, warning or info",
		"rules:\n  kube/nope: off\n": "unknown rule",
		"rulez:\n  DL3008: off\n":    "lint.yml:1:1",
		"rules: [\n":                 "lint.yml:",
	} {
		_, err := ParseConfig("lint.yml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", src, err, want)
		}
	}
}

func TestSuppressionNeedsReason(t *testing.T) {
	src := "FROM alpine:3.20\n# shipgate:ignore DL3006\nFROM ubuntu\nUSER app\n"
	r, err := Run([]string{"-"}, Options{Stdin: strings.NewReader(src)})
	if err != nil {
		t.Fatal(err)
	}
	got := findings(r)
	for _, w := range []string{"<stdin>:3:6 DL3006", "<stdin>:2:1 lint/suppression"} {
		if !slices.Contains(got, w) {
			t.Errorf("want %s in %v", w, got)
		}
	}
}

func TestUnusedSuppressionAndTrailing(t *testing.T) {
	src := "FROM ubuntu # not a comment in a Dockerfile\n"
	_ = src
	yml := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true # shipgate:ignore kube/host-pid node exporter needs it\n  containers: [{name: c, image: 'x:1', securityContext: {runAsNonRoot: true, readOnlyRootFilesystem: true}, resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}, livenessProbe: {exec: {command: [a]}}, readinessProbe: {exec: {command: [a]}}}]\n# shipgate:ignore kube/privileged nothing here is privileged\n"
	r, err := Run([]string{"-"}, Options{Stdin: strings.NewReader(yml)})
	if err != nil {
		t.Fatal(err)
	}
	got := findings(r)
	if !slices.Equal(got, []string{"<stdin>:7:1 lint/unused-suppression"}) {
		t.Errorf("got %v", got)
	}
}

func TestMissingPathIsAnError(t *testing.T) {
	if _, err := Run([]string{"testdata/nope"}, Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("got %v", err)
	}
}

func TestNothingToReviewIsSkipped(t *testing.T) {
	r, err := Run([]string{"testdata/repo/notes.yaml"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != gate.Skipped {
		t.Errorf("verdict %s, want skipped", r.Verdict)
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pat, p string
		want   bool
	}{
		{"testdata/**", "testdata/a/b.yaml", true},
		{"**/.github/**", "repo/.github/workflows/ci.yml", true},
		{"*.json", "a/b/c.json", true},
		{"charts/*/templates/*.yaml", "charts/x/templates/d.yaml", true},
		{"charts/*/templates/*.yaml", "charts/x/y/templates/d.yaml", false},
	} {
		if got := globMatch(c.pat, c.p); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.pat, c.p, got)
		}
	}
}
