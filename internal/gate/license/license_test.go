package license

import (
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
	"github.com/shipgate/shipgate/internal/inventory"
)

func collect(t *testing.T) map[string]PackageLicense {
	t.Helper()
	inv, err := inventory.Scan("testdata/project")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]PackageLicense{}
	for _, p := range Collect(inv, CollectOptions{Root: "testdata/project", GoModCache: "testdata/gomodcache"}) {
		got[p.Name] = p
	}
	return got
}

func TestCollect(t *testing.T) {
	got := collect(t)
	want := map[string]struct {
		declared, detected string
		disagree           bool
	}{
		"bbmustache":                 {"MIT", "MIT", false},
		"certifi":                    {"BSD-3-Clause", "BSD-3-Clause", false}, // hex metadata says "BSD"
		"getopt":                     {"BSD-3-Clause", "Apache-2.0", true},
		"relx":                       {"", "", false},
		"left-pad":                   {"WTFPL", "", false},
		"@scope/gpl-thing":           {"GPL-3.0-only", "", false},
		"github.com/BurntSushi/toml": {"", "MIT", false},
	}
	for name, w := range want {
		p, ok := got[name]
		if !ok {
			t.Errorf("%s: not collected", name)
			continue
		}
		if p.Declared != w.declared || strings.Join(p.Detected, ",") != w.detected || p.Disagree != w.disagree {
			t.Errorf("%s: declared %q detected %v disagree %v; want %q %q %v", name, p.Declared, p.Detected, p.Disagree, w.declared, w.detected, w.disagree)
		}
	}
	if f := got["getopt"].Files; len(f) != 1 || f[0] != "_build/default/lib/getopt/LICENSE.txt" {
		t.Errorf("getopt files %v", f)
	}
}

func TestPolicy(t *testing.T) {
	inv, _ := inventory.Scan("testdata/project")
	pkgs := Collect(inv, CollectOptions{Root: "testdata/project", GoModCache: "testdata/gomodcache"})
	rules := func(r *gate.Report) map[string]string {
		m := map[string]string{}
		for _, f := range r.Findings {
			m[f.Properties["package"].(string)] = f.Rule + "/" + f.Severity.String()
		}
		return m
	}
	r := Check(pkgs, Policy{Allow: []string{"MIT,Apache-2.0,BSD-3-Clause"}, Deny: []string{"GPL-3.0-only"}})
	got := rules(r)
	want := map[string]string{
		"getopt":           RuleDisagreement + "/warning",
		"relx":             RuleUnknown + "/warning",
		"left-pad":         RuleNotAllowed + "/error",
		"@scope/gpl-thing": RuleDenied + "/error",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) || r.Verdict != gate.Fail {
		t.Errorf("findings %v verdict %s", got, r.Verdict)
	}
	// Exceptions with reasons, and unknown/disagreement as failures.
	r = Check(pkgs, Policy{Allow: []string{"MIT", "Apache-2.0", "BSD-3-Clause", "WTFPL"}, Unknown: "fail", Disagreement: "fail",
		Exceptions: []Exception{{Package: "@scope/gpl-thing", Reason: "build tool only"}}})
	got = rules(r)
	if got["relx"] != RuleUnknown+"/error" || got["getopt"] != RuleDisagreement+"/error" || got["@scope/gpl-thing"] != "" || len(got) != 2 {
		t.Errorf("strict: %v", got)
	}
	if r.Findings[0].Pos.File != "testdata/project/rebar.lock" || r.Findings[0].Severity != diag.Error {
		t.Errorf("position %+v", r.Findings[0].Pos)
	}
}

func TestEvaluate(t *testing.T) {
	allow := []string{"mit", "apache-2.0"}
	cases := map[string]bool{
		"MIT":                             true,
		"MIT OR GPL-3.0-only":             true,
		"MIT AND GPL-3.0-only":            false,
		"(MIT OR GPL-2.0) AND Apache-2.0": true,
		"Apache-2.0 WITH LLVM-exception":  true,
		"GPL-3.0-only":                    false,
	}
	for expr, want := range cases {
		if ok, why := evaluate(expr, allow, []string{"gpl-3.0-only"}); ok != want {
			t.Errorf("%s: %v (%s), want %v", expr, ok, why, want)
		}
	}
	if NormalizeID("Apache 2.0") != "Apache-2.0" || normalizeExpression("MIT or apache-2") != "MIT OR Apache-2.0" {
		t.Errorf("normalize: %q", normalizeExpression("MIT or apache-2"))
	}
}
