package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden .out files")

// run calls the CLI as a user would and returns stdout, stderr and the code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// Golden diagnostics: testdata/golden/<case>.yml beside <case>.out (text
// output of validate). Update with go test ./cmd/shipgate -run Golden -update.
func TestValidateGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/golden/*.yml")
	for _, f := range files {
		stdout, _, code := run(t, "validate", "--no-script-checks", f)
		golden := strings.TrimSuffix(f, ".yml") + ".out"
		got := stdout + "exit " + string(rune('0'+code)) + "\n"
		if *update {
			os.WriteFile(golden, []byte(got), 0o644)
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%s: %v (run with -update)", golden, err)
		}
		if got != string(want) {
			t.Errorf("%s: output differs\n--- got\n%s--- want\n%s", f, got, want)
		}
	}
}

func TestValidateWarnsButPlanRefusesUnsupported(t *testing.T) {
	f := "testdata/golden/unsupported.yml"
	out, _, code := run(t, "validate", "--no-script-checks", f)
	if code != 0 || !strings.Contains(out, `warning: not supported by shipgate yet: "container" in job "build"`) {
		t.Fatalf("validate: code %d, output:\n%s", code, out)
	}
	for _, feature := range []string{`"services"`, `Docker container actions`, `runs-on label "windows-latest"`, `reusable workflow`} {
		if !strings.Contains(out, feature) {
			t.Errorf("validate does not name %s", feature)
		}
	}
	_, stderr, code := run(t, "plan", "-W", f)
	if code != 1 || !strings.Contains(stderr, "[shipgate-support]") || strings.Contains(stderr, "warning: not supported") {
		t.Fatalf("plan: code %d, stderr:\n%s", code, stderr)
	}
}

func TestValidateFormats(t *testing.T) {
	f := "testdata/golden/errors.yml"
	out, _, code := run(t, "validate", "--no-script-checks", "--format", "json", f)
	var ds []map[string]any
	if err := json.Unmarshal([]byte(out), &ds); err != nil || code != 1 || len(ds) < 3 {
		t.Fatalf("json: code %d, %v, %s", code, err, out)
	}
	if ds[0]["rule"] == "" || ds[0]["pos"].(map[string]any)["line"] == nil {
		t.Errorf("json diagnostic lacks rule or position: %v", ds[0])
	}
	out, _, _ = run(t, "validate", "--no-script-checks", "--format", "sarif", f)
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs[0].Results) != len(ds) {
		t.Fatalf("sarif: %v %s", err, out)
	}
	if sarif.Runs[0].Results[0].Locations[0].PhysicalLocation.Region.StartLine == 0 {
		t.Error("sarif result has no line")
	}
	if _, _, code := run(t, "validate", "--format", "xml", f); code != 2 {
		t.Errorf("unknown format: exit %d, want 2", code)
	}
}

func TestValidateBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	big := bytes.Repeat([]byte("# padding\n"), 1_100_000) // 11 MB
	cases := map[string]string{
		"empty":   write("empty.yml", nil),
		"binary":  write("bin.yml", []byte("on: push\x00\x01\x02")),
		"deep":    write("deep.yml", []byte("on: push\nx: "+strings.Repeat("[", 20000)+strings.Repeat("]", 20000))),
		"10 MB":   write("big.yml", big),
		"missing": filepath.Join(dir, "nope.yml"),
		"folder":  write("dir.yml", nil) + "-x",
	}
	for name, path := range cases {
		_, stderr, code := run(t, "validate", path)
		if code != 2 || !strings.Contains(stderr, "shipgate: ") || strings.Contains(stderr, "panic") {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 with a clear message", name, code, stderr)
		}
	}
	if _, _, code := run(t, "validate", "--nope"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
}

func TestPlanMatrixAndOrder(t *testing.T) {
	out, stderr, code := run(t, "plan", "-W", "testdata/golden/ok.yml", "--ref", "refs/heads/main", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var p planOutput
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range p.Jobs {
		ids = append(ids, j.ID+"="+j.Name)
	}
	want := "build/0=build (26, default) build/1=build (27, default) build/2=build (27, test) test=test deploy=deploy"
	if strings.Join(ids, " ") != want || !p.Triggered {
		t.Fatalf("plan = %v\nwant %s", ids, want)
	}
	// A branch outside the filter plans nothing, and says why.
	out, _, code = run(t, "plan", "-W", "testdata/golden/ok.yml", "--ref", "refs/heads/feature")
	if code != 0 || !strings.Contains(out, `nothing runs: branch "feature" matches no pattern in branches`) {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// Dispatch inputs are checked.
	_, stderr, code = run(t, "plan", "-W", "testdata/golden/ok.yml", "--event", "workflow_dispatch", "--input", "level=trace")
	if code != 1 || !strings.Contains(stderr, `input "level": "trace" is not one of the options info, debug`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// A malformed event file is bad input.
	bad := filepath.Join(t.TempDir(), "event.json")
	os.WriteFile(bad, []byte("{\n  \"ref\": \n}"), 0o644)
	_, stderr, code = run(t, "plan", "-W", "testdata/golden/ok.yml", "--eventpath", bad)
	if code != 2 || !strings.Contains(stderr, "line 3") {
		t.Fatalf("bad event: exit %d: %s", code, stderr)
	}
	if _, _, code := run(t, "plan", "-W", "testdata/golden/ok.yml", "-j", "nope"); code != 1 {
		t.Fatalf("unknown job: exit %d", code)
	}
}

func TestGraphFormats(t *testing.T) {
	for format, want := range map[string]string{
		"text":    "deploy  <- build, test",
		"dot":     `"build" -> "deploy";`,
		"mermaid": "j_build --> j_deploy",
		"json":    `"needs": [`,
	} {
		out, stderr, code := run(t, "graph", "-W", "testdata/golden/ok.yml", "--format", format)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, want %q in:\n%s%s", format, code, want, out, stderr)
		}
	}
	_, stderr, code := run(t, "graph", "-W", "testdata/golden/errors.yml")
	if code != 1 || !strings.Contains(stderr, "[job-needs]") {
		t.Errorf("cycle: exit %d, %s", code, stderr)
	}
}
