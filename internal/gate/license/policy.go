package license

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
)

// Policy is licenses.yml (flags add to it):
//
//	allow: [MIT, Apache-2.0, BSD-3-Clause, ISC]
//	deny: [GPL-3.0-only, AGPL-3.0-only]
//	unknown: warn          # or fail: packages whose license was not found
//	disagreement: warn     # or fail: declared and detected licenses differ
//	exceptions:
//	  - package: jsx
//	    license: GPL-2.0-only   # optional: only this license
//	    reason: only used by the test profile
type Policy struct {
	Allow        []string    `yaml:"allow" json:"allow,omitempty"`
	Deny         []string    `yaml:"deny" json:"deny,omitempty"`
	Unknown      string      `yaml:"unknown" json:"unknown,omitempty"`
	Disagreement string      `yaml:"disagreement" json:"disagreement,omitempty"`
	Exceptions   []Exception `yaml:"exceptions" json:"exceptions,omitempty"`
}

// Exception accepts a package's license whatever the lists say.
type Exception struct {
	Package string `yaml:"package" json:"package"`
	License string `yaml:"license" json:"license,omitempty"`
	Reason  string `yaml:"reason" json:"reason"`
}

// LoadPolicy reads a policy file; errors name file:line:col.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Policy
	if err := yaml.UnmarshalWithOptions(data, &p, yaml.Strict()); err != nil {
		s := yaml.FormatError(err, false, false)
		return nil, fmt.Errorf("%s:%s", path, strings.TrimPrefix(s, "["))
	}
	for i, e := range p.Exceptions {
		if e.Package == "" || e.Reason == "" {
			return nil, fmt.Errorf("%s: exception %d needs a package and a reason", path, i+1)
		}
	}
	return &p, p.Validate()
}

// Validate checks the modes.
func (p *Policy) Validate() error {
	for _, m := range []string{p.Unknown, p.Disagreement} {
		if m != "" && m != "warn" && m != "fail" && m != "ignore" {
			return fmt.Errorf("policy: mode %q is not warn, fail or ignore", m)
		}
	}
	return nil
}

// Rule IDs.
const (
	RuleDenied       = "license/denied"
	RuleNotAllowed   = "license/not-allowed"
	RuleUnknown      = "license/unknown"
	RuleDisagreement = "license/disagreement"
)

// Result is the gate's data for --json.
type Result struct {
	Packages []PackageLicense `json:"packages"`
	Policy   Policy           `json:"policy"`
}

// Check judges every package's license with the policy.
func Check(pkgs []PackageLicense, pol Policy) *gate.Report {
	r := &gate.Report{Gate: "licenses", Rules: []diag.Rule{
		{ID: RuleDenied, Description: "A dependency's license is on the deny list"},
		{ID: RuleNotAllowed, Description: "A dependency's license is not on the allow list"},
		{ID: RuleUnknown, Description: "No license was found for a dependency"},
		{ID: RuleDisagreement, Description: "A dependency's declared license differs from its license text"},
	}}
	r.Data = &Result{Packages: pkgs, Policy: pol}
	if len(pkgs) == 0 {
		r.Verdict, r.Reason = gate.Skipped, "no lockfile with packages found"
		return r
	}
	norm := func(l []string) []string {
		var out []string
		for _, x := range l {
			for _, y := range strings.Split(x, ",") {
				if y = strings.TrimSpace(y); y != "" {
					out = append(out, strings.ToLower(NormalizeID(y)))
				}
			}
		}
		return out
	}
	allow, deny := norm(pol.Allow), norm(pol.Deny)
	mode := func(m, def string) string {
		if m == "" {
			return def
		}
		return m
	}
	sevOf := func(m string) diag.Severity {
		if m == "fail" {
			return diag.Error
		}
		return diag.Warning
	}
	counts := map[string]int{}
	fails := 0
	add := func(p PackageLicense, rule string, sev diag.Severity, format string, args ...any) {
		if sev == diag.Error {
			fails++
		}
		counts[rule]++
		r.Add(gate.Finding{Diagnostic: diag.Diagnostic{Pos: diag.Pos{File: p.Lockfile, Line: p.Line}, Rule: rule, Severity: sev,
			Message: fmt.Sprintf("%s %s: ", p.Name, p.Version) + fmt.Sprintf(format, args...)},
			Properties: map[string]any{"package": p.Name, "version": p.Version, "ecosystem": p.Ecosystem,
				"declared": p.Declared, "detected": p.Detected, "files": p.Files}})
	}
	found := 0
	for _, p := range pkgs {
		expr := p.Expression()
		var exc *Exception
		for i := range pol.Exceptions {
			e := &pol.Exceptions[i]
			if e.Package == p.Name && (e.License == "" || strings.EqualFold(NormalizeID(e.License), expr)) {
				exc = e
			}
		}
		if p.Disagree {
			if m := mode(pol.Disagreement, "warn"); m != "ignore" {
				add(p, RuleDisagreement, sevOf(m), "declares %s in %s but its license text is %s", p.Declared, p.DeclaredIn, strings.Join(p.Detected, ", "))
			}
		}
		if expr == "" {
			if m := mode(pol.Unknown, "warn"); m != "ignore" && exc == nil {
				where := "not installed here (build or fetch dependencies first)"
				if p.Dir != "" {
					where = "no license metadata or license file in " + p.Dir
				}
				add(p, RuleUnknown, sevOf(m), "license unknown: %s", where)
			}
			continue
		}
		found++
		if exc != nil {
			continue
		}
		if ok, why := evaluate(expr, allow, deny); !ok {
			rule := RuleNotAllowed
			if strings.HasPrefix(why, "denied") {
				rule = RuleDenied
			}
			add(p, rule, diag.Error, "%s (%s)", expr, why)
		}
	}
	r.Metrics = []gate.Metric{
		{Name: "packages", Value: float64(len(pkgs))},
		{Name: "with a license", Value: float64(found)},
		{Name: "denied or not allowed", Value: float64(counts[RuleDenied] + counts[RuleNotAllowed])},
		{Name: "unknown", Value: float64(counts[RuleUnknown])},
		{Name: "disagreements", Value: float64(counts[RuleDisagreement])},
	}
	r.Details = licenseTable(pkgs)
	switch {
	case fails > 0:
		r.Verdict = gate.Fail
		r.Reason = fmt.Sprintf("%d license %s", fails, plural(fails, "problem", "problems"))
	case len(r.Findings) > 0:
		r.Verdict = gate.Warn
		r.Reason = fmt.Sprintf("%d of %d packages with a license, %d unknown, %d disagreements", found, len(pkgs), counts[RuleUnknown], counts[RuleDisagreement])
	default:
		r.Verdict = gate.Pass
		r.Reason = fmt.Sprintf("%d packages, every license allowed", len(pkgs))
	}
	return r
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// evaluate checks an SPDX expression: OR passes when one side passes, AND
// when both do; an ID passes when not denied and (with an allow list) allowed.
func evaluate(expr string, allow, deny []string) (bool, string) {
	toks := tokenize(expr)
	pos := 0
	var orExpr func() (bool, string)
	var atom func() (bool, string)
	andExpr := func() (bool, string) {
		ok, why := atom()
		for pos < len(toks) && strings.EqualFold(toks[pos], "AND") {
			pos++
			ok2, why2 := atom()
			if ok && !ok2 {
				why = why2
			}
			ok = ok && ok2
		}
		return ok, why
	}
	orExpr = func() (bool, string) {
		ok, why := andExpr()
		for pos < len(toks) && strings.EqualFold(toks[pos], "OR") {
			pos++
			ok2, why2 := andExpr()
			if !ok && ok2 {
				why = ""
			} else if !ok {
				why = why + "; " + why2
			}
			ok = ok || ok2
		}
		return ok, why
	}
	atom = func() (bool, string) {
		if pos >= len(toks) {
			return false, "incomplete expression"
		}
		t := toks[pos]
		pos++
		if t == "(" {
			ok, why := orExpr()
			if pos < len(toks) && toks[pos] == ")" {
				pos++
			}
			return ok, why
		}
		if pos < len(toks) && strings.EqualFold(toks[pos], "WITH") {
			pos += 2
		}
		id := strings.ToLower(t)
		switch {
		case slices.Contains(deny, id):
			return false, "denied: " + t
		case len(allow) > 0 && !slices.Contains(allow, id):
			return false, "not in the allow list: " + t
		}
		return true, ""
	}
	return orExpr()
}

func licenseTable(pkgs []PackageLicense) string {
	var b strings.Builder
	b.WriteString("| Package | Version | Declared | Detected | Note |\n|---|---|---|---|---|\n")
	n := 0
	for _, p := range pkgs {
		note := ""
		switch {
		case p.Disagree:
			note = "declared ≠ detected"
		case p.Expression() == "":
			note = "unknown"
		}
		if note == "" && len(pkgs) > 50 {
			continue
		}
		n++
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", p.Name, p.Version, p.Declared, strings.Join(p.Detected, ", "), note)
	}
	if n == 0 {
		return ""
	}
	return b.String()
}
