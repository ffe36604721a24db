package plan

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/workflow"
)

func parse(t *testing.T, src string) *workflow.Workflow {
	t.Helper()
	wf, ds := workflow.Parse("test.yml", []byte(src), workflow.Options{NoScriptCheck: true})
	if wf == nil {
		t.Fatalf("parse failed: %v", ds)
	}
	return wf
}

func legsOf(t *testing.T, matrix string) []string {
	t.Helper()
	wf := parse(t, "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n"+matrix+"    steps:\n      - run: true\n")
	legs, err := ExpandMatrix(wf.Jobs[0].Strategy.Matrix, &expr.Context{Contexts: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range legs {
		var parts []string
		for _, k := range l.Keys {
			parts = append(parts, k+"="+expr.ToString(l.Values[k]))
		}
		out = append(out, strings.Join(parts, ","))
	}
	return out
}

// The examples of GitHub's "Running variations of jobs in a workflow" page.
func TestMatrixDocumentedExamples(t *testing.T) {
	cases := []struct {
		name, matrix string
		want         []string
	}{
		{"single dimension", "        version: [10, 12, 14]\n",
			[]string{"version=10", "version=12", "version=14"}},
		{"multi dimension", "        os: [ubuntu-22.04, ubuntu-20.04]\n        version: [10, 12, 14]\n",
			[]string{"os=ubuntu-22.04,version=10", "os=ubuntu-22.04,version=12", "os=ubuntu-22.04,version=14",
				"os=ubuntu-20.04,version=10", "os=ubuntu-20.04,version=12", "os=ubuntu-20.04,version=14"}},
		{"expanding or adding configurations",
			"        fruit: [apple, pear]\n        animal: [cat, dog]\n        include:\n" +
				"          - color: green\n          - color: pink\n            animal: cat\n" +
				"          - fruit: apple\n            shape: circle\n          - fruit: banana\n" +
				"          - fruit: banana\n            animal: cat\n",
			[]string{
				"fruit=apple,animal=cat,color=pink,shape=circle",
				"fruit=apple,animal=dog,color=green,shape=circle",
				"fruit=pear,animal=cat,color=pink",
				"fruit=pear,animal=dog,color=green",
				"fruit=banana",
				"fruit=banana,animal=cat",
			}},
		{"excluding", "        os: [macos-latest, windows-latest]\n        version: [12, 14, 16]\n        environment: [staging, production]\n" +
			"        exclude:\n          - os: macos-latest\n            version: 12\n            environment: production\n" +
			"          - os: windows-latest\n            version: 16\n",
			nil},
		{"only include", "        include:\n          - site: production\n            datacenter: site-a\n          - site: staging\n            datacenter: site-b\n",
			[]string{"datacenter=site-a,site=production", "datacenter=site-b,site=staging"}},
		{"yaml float typing", "        go: [1.10, '1.20']\n", []string{"go=1.1", "go=1.20"}},
	}
	for _, c := range cases {
		got := legsOf(t, c.matrix)
		if c.name == "excluding" {
			// 12 combinations, minus 1 (macos/12/production) and 2 (windows/16/*): 9.
			if len(got) != 9 || slices.Contains(got, "os=macos-latest,version=12,environment=production") ||
				slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "os=windows-latest,version=16") }) {
				t.Errorf("%s: got %d legs %v", c.name, len(got), got)
			}
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got  %q\n want %q", c.name, got, c.want)
		}
	}
}

func TestMatrixFromExpression(t *testing.T) {
	wf := parse(t, `on: push
jobs:
  setup:
    runs-on: ubuntu-latest
    outputs:
      m: ${{ steps.s.outputs.m }}
    steps:
      - id: s
        run: echo ok
  j:
    needs: setup
    runs-on: ubuntu-latest
    strategy:
      matrix: ${{ fromJSON(needs.setup.outputs.m) }}
    steps:
      - run: true
`)
	g, ds := Build(wf, Event{Name: "push", Ref: "refs/heads/main"}, &expr.Context{Contexts: map[string]any{"github": map[string]any{}}}, nil)
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	if n := g.Nodes[1]; !n.Dynamic || n.JobID != "j" {
		t.Fatalf("node = %+v, want a dynamic matrix job", n)
	}
	c := &expr.Context{Contexts: map[string]any{"needs": map[string]any{"setup": map[string]any{"outputs": map[string]any{
		"m": `{"os":["a","b"],"include":[{"os":"c","x":1}]}`}}}}}
	legs, err := ExpandMatrix(wf.Jobs[1].Strategy.Matrix, c)
	if err != nil || len(legs) != 3 {
		t.Fatalf("legs = %v, %v", legs, err)
	}
}

func TestMatrixErrors(t *testing.T) {
	wf := parse(t, "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        os: [a]\n        exclude:\n          - os: a\n    steps:\n      - run: true\n")
	if _, err := ExpandMatrix(wf.Jobs[0].Strategy.Matrix, &expr.Context{}); err == nil || !strings.Contains(err.Error(), "test.yml:6:") {
		t.Fatalf("want a positioned error for an empty matrix, got %v", err)
	}
}

func TestTriggerFilters(t *testing.T) {
	wf := parse(t, `on:
  push:
    branches: [main, 'releases/**', '!releases/**-alpha']
    paths-ignore: ['docs/**']
  pull_request:
    branches: [main]
    types: [opened, synchronize]
  workflow_dispatch:
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - run: true
`)
	cases := []struct {
		ev   Event
		want bool
	}{
		{Event{Name: "push", Ref: "refs/heads/main"}, true},
		{Event{Name: "push", Ref: "refs/heads/releases/v1"}, true},
		{Event{Name: "push", Ref: "refs/heads/releases/v1/x"}, true},
		{Event{Name: "push", Ref: "refs/heads/releases/v2-alpha"}, false},
		{Event{Name: "push", Ref: "refs/heads/feature"}, false},
		{Event{Name: "push", Ref: "refs/tags/v1.0.0"}, true}, // branch filters only: tags run? no tags filter
		{Event{Name: "push", Ref: "refs/heads/main", ChangedFiles: []string{"docs/a.md"}}, false},
		{Event{Name: "push", Ref: "refs/heads/main", ChangedFiles: []string{"docs/a.md", "src/x.go"}}, true},
		{Event{Name: "pull_request", Ref: "refs/heads/main", Action: "opened"}, true},
		{Event{Name: "pull_request", Ref: "refs/heads/main", Action: "closed"}, false},
		{Event{Name: "pull_request", Ref: "refs/heads/dev", Action: "opened"}, false},
		{Event{Name: "workflow_dispatch", Ref: "refs/heads/anything"}, true},
		{Event{Name: "schedule"}, false},
	}
	for _, c := range cases {
		got, why := Triggered(wf, c.ev)
		want := c.want
		if c.ev.Ref == "refs/tags/v1.0.0" {
			want = false // only branch filters: a tag push does not run
		}
		if got != want {
			t.Errorf("%+v: triggered = %v (%s), want %v", c.ev, got, why, want)
		}
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		pat, name string
		want      bool
	}{
		{"feature/*", "feature/my-branch", true},
		{"feature/*", "feature/your/branch", false},
		{"feature/**", "feature/your/branch", true},
		{"v2*", "v2.0.0", true},
		{"v[12].[0-9]+.[0-9]+", "v1.10.1", true},
		{"v[12].[0-9]+.[0-9]+", "v3.0.0", false},
		{"**.js", "src/a/index.js", true},
		{"*.js", "src/index.js", false},
		{"docs/**/*.md", "docs/a.md", true},
		{"docs/**/*.md", "docs/x/y/a.md", true},
		{"'*'", "'x'", true},
	}
	for _, c := range cases {
		if got := Match(c.pat, c.name); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pat, c.name, got, c.want)
		}
	}
}

func TestOrderAndCycles(t *testing.T) {
	wf := parse(t, `on: push
jobs:
  deploy:
    needs: [test, build]
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  test:
    needs: build
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  build:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
`)
	order, ds := Order(wf)
	if len(ds) > 0 || fmt.Sprint(order) != "[build test deploy]" {
		t.Fatalf("order = %v, %v", order, ds)
	}
	wf = parse(t, `on: push
jobs:
  a:
    needs: b
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  b:
    needs: a
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
`)
	_, ds = Order(wf)
	if len(ds) != 1 || ds[0].Rule != RuleNeeds || ds[0].Pos.Line != 3 || !strings.Contains(ds[0].Message, "a -> b -> a") {
		t.Fatalf("cycle diagnostics = %v", ds)
	}
}

func TestInputs(t *testing.T) {
	wf := parse(t, `on:
  workflow_dispatch:
    inputs:
      level:
        type: choice
        options: [info, debug]
        default: info
      dry:
        type: boolean
        default: false
      count:
        type: number
        required: true
jobs:
  j:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
`)
	got, ds := Inputs(wf, Event{Name: "workflow_dispatch", Inputs: map[string]string{"count": "3", "dry": "true"}})
	if len(ds) > 0 || got["level"] != "info" || got["dry"] != true || got["count"] != 3.0 {
		t.Fatalf("inputs = %v, %v", got, ds)
	}
	_, ds = Inputs(wf, Event{Name: "workflow_dispatch", Inputs: map[string]string{"level": "trace", "nope": "1"}})
	if len(ds) != 3 { // missing count, bad choice, undeclared input
		t.Fatalf("want 3 input errors, got %v", ds)
	}
}

func TestBuildOnlyAndNames(t *testing.T) {
	wf := parse(t, `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        otp: [26, 27]
    steps: [{run: "true"}]
  lint:
    name: Lint ${{ github.ref_name }}
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  test:
    needs: build
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
`)
	c := &expr.Context{Contexts: map[string]any{"github": map[string]any{"ref_name": "main"}}}
	g, ds := Build(wf, Event{Name: "push"}, c, []string{"test"})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	var names []string
	for _, n := range g.Nodes {
		names = append(names, n.ID+":"+n.Name)
	}
	if fmt.Sprint(names) != "[build/0:build (26) build/1:build (27) test:test]" {
		t.Fatalf("nodes = %v", names)
	}
	g, _ = Build(wf, Event{Name: "push"}, c, nil)
	if g.Nodes[2].Name != "Lint main" {
		t.Fatalf("lint name = %q", g.Nodes[2].Name)
	}
	if _, ds := Build(wf, Event{Name: "push"}, c, []string{"nope"}); len(ds) != 1 {
		t.Fatalf("unknown job: %v", ds)
	}
}

// GitHub's template directives inside a matrix: a key written as an
// expression, an expression giving an array spread into a row, and
// `${{ insert }}` merging a mapping (act's evalmatrix cases).
func TestMatrixTemplateDirectives(t *testing.T) {
	wf := parse(t, `on: push
jobs:
  j:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        ${{ github.ref_name }}: [x]
        a:
          - env:
              key1: val1
              ${{ insert }}: ${{ fromJSON('{"key3":"val3"}') }}
          - ${{ fromJSON('[{"env":{"key2":"val2"}},{"env":{"key4":"v4"}}]') }}
    steps:
      - run: "true"
`)
	c := &expr.Context{Contexts: map[string]any{"github": map[string]any{"ref_name": "main"}}}
	legs, err := ExpandMatrix(wf.Jobs[0].Strategy.Matrix, c)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range legs {
		got = append(got, expr.ToString(l.Values["main"])+" "+strings.Join(strings.Fields(expr.ToJSON(l.Values["a"])), ""))
	}
	want := []string{
		`x {"env":{"key1":"val1","key3":"val3"}}`,
		`x {"env":{"key2":"val2"}}`,
		`x {"env":{"key4":"v4"}}`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("legs:\n got  %q\n want %q", got, want)
	}
}
