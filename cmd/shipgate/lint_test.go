package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const lintRepo = "../../internal/gate/lint/testdata/repo"

func TestLintExitCodesAndFormats(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	// The test repository has warnings only: exit 0.
	code, out, errs := runMain(t, "", "lint", "--no-script-checks", lintRepo)
	if code != 0 || !strings.Contains(out, "lint: warn") || !strings.Contains(out, "[DL3008]") {
		t.Fatalf("repo: exit %d\n%s%s", code, out, errs)
	}
	// JSON carries the files and per-rule counts.
	code, out, _ = runMain(t, "", "lint", "--no-script-checks", "--json", lintRepo)
	var rep struct {
		Verdict string
		Data    struct {
			Files []struct{ Path, Kind string }
			Rules map[string]int
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || len(rep.Data.Files) != 4 || rep.Data.Rules["DL3008"] != 1 {
		t.Fatalf("json: exit %d, %v\n%s", code, err, out)
	}
	// SARIF is valid JSON with our rule table.
	code, out, _ = runMain(t, "", "lint", "--no-script-checks", "--format", "sarif", lintRepo)
	if code != 0 || !strings.Contains(out, `"2.1.0"`) || !strings.Contains(out, "DL3008") {
		t.Fatalf("sarif: exit %d\n%s", code, out)
	}
	// A missing path and a bad config are bad input: exit 2.
	if code, _, errs := runMain(t, "", "lint", "no/such/dir"); code != 2 || !strings.Contains(errs, "no such file") {
		t.Fatalf("missing path: exit %d %s", code, errs)
	}
	cfg := filepath.Join(t.TempDir(), "lint.yml")
	os.WriteFile(cfg, []byte("rules:\n  DL3008: sometimes\n"), 0o644)
	if code, _, errs := runMain(t, "", "lint", "--config", cfg, lintRepo); code != 2 || !strings.Contains(errs, "DL3008") {
		t.Fatalf("bad config: exit %d %s", code, errs)
	}
}

func TestLintStdinKustomizeOutput(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	manifest := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: nginx}]\n"
	var out, errb bytes.Buffer
	code := Main([]string{"lint", "-"}, strings.NewReader(manifest), &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "<stdin>:5:16:") {
		t.Fatalf("stdin: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "[kube/host-network]") || !strings.Contains(out.String(), "[kube/image-tag]") {
		t.Fatalf("stdin findings:\n%s", out.String())
	}
}
