package coverage

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
)

// Rule IDs the coverage gate reports.
const (
	RuleMin          = "coverage/min"
	RuleStretch      = "coverage/stretch"
	RuleModule       = "coverage/module-min"
	RuleModuleAbsent = "coverage/module-absent"
	RulePatch        = "coverage/patch-min"
	RuleUncovered    = "coverage/uncovered-line"
	RuleEmpty        = "coverage/empty"
)

// Rules describes the rule IDs for SARIF.
var Rules = []diag.Rule{
	{ID: RuleMin, Description: "Total coverage is below the minimum"},
	{ID: RuleStretch, Description: "Total coverage is below the stretch goal"},
	{ID: RuleModule, Description: "A critical module's coverage is below its minimum"},
	{ID: RuleModuleAbsent, Description: "A module with a minimum is not in the coverage reports"},
	{ID: RulePatch, Description: "Coverage of the changed lines is below the patch minimum"},
	{ID: RuleUncovered, Description: "A changed line that no test executed"},
	{ID: RuleEmpty, Description: "The coverage reports measure no executable code"},
}

// ModuleMin is a minimum for the files a pattern selects (see Profile.Match).
type ModuleMin struct {
	Pattern string  `json:"pattern" yaml:"pattern"`
	Min     float64 `json:"min" yaml:"min"`
}

// ParseModuleMin reads "NAME=MIN" (MIN may end in %).
func ParseModuleMin(s string) (ModuleMin, error) {
	name, v, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return ModuleMin{}, fmt.Errorf("module minimum %q: want NAME=MIN, e.g. internal/auth=90", s)
	}
	min, err := ParsePercent(v)
	if err != nil {
		return ModuleMin{}, fmt.Errorf("module minimum %q: %v", s, err)
	}
	return ModuleMin{Pattern: name, Min: min}, nil
}

// ParsePercent reads "80", "80%" or "80.5".
func ParsePercent(s string) (float64, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || v < 0 || v > 100 {
		return 0, fmt.Errorf("%q is not a percentage between 0 and 100", s)
	}
	return v, nil
}

// Options are the coverage gate's thresholds. A zero threshold is not
// checked.
type Options struct {
	// Min fails the gate when the total is below it.
	Min float64
	// Stretch warns when the total is below it.
	Stretch float64
	// Modules are per-module minimums (critical modules).
	Modules []ModuleMin
	// Patch, when set, is the coverage of the changed lines; PatchMin fails
	// the gate when it is below.
	Patch    *Patch
	PatchMin float64
	// Base names what the patch was computed against ("origin/main").
	Base string
	// Source names the reports in findings that have no finer position
	// (the first input file).
	Source string
	// Baseline, when set, is the last stored run of the base branch:
	// deltas are shown against it.
	Baseline *Baseline
}

// Baseline is a previous run's figures.
type Baseline struct {
	Ref     string             `json:"ref"`
	Total   float64            `json:"total"`
	Modules map[string]float64 `json:"modules"`
}

// Result is the structured output (--json data).
type Result struct {
	Unit     Unit     `json:"unit"`
	Formats  []string `json:"formats"`
	Covered  int64    `json:"covered"`
	Total    int64    `json:"total"`
	Percent  float64  `json:"percent"`
	Min      float64  `json:"min,omitempty"`
	Stretch  float64  `json:"stretch,omitempty"`
	Delta    *float64 `json:"delta,omitempty"`
	Modules  []Module `json:"modules"`
	Patch    *Patch   `json:"patch,omitempty"`
	PatchMin float64  `json:"patch_min,omitempty"`
}

// round2 keeps two decimals so reports and JSON do not show float noise.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Evaluate applies the thresholds to the profile and returns the report.
func Evaluate(p *Profile, opt Options) *gate.Report {
	r := &gate.Report{Gate: "coverage", Rules: Rules}
	unit := p.Unit()
	total := p.Total()
	pct := total.Percent()
	res := &Result{Unit: unit, Formats: p.Formats, Covered: total.Covered, Total: total.Total,
		Percent: round2(pct), Min: opt.Min, Stretch: opt.Stretch, PatchMin: opt.PatchMin, Patch: opt.Patch}
	if p.PercentOnly {
		res.Covered, res.Total = 0, 0
	}
	r.Data = res
	r.Metrics = append(r.Metrics, gate.Metric{Name: "coverage", Value: round2(pct), Unit: "%"})
	if !p.PercentOnly {
		r.Metrics = append(r.Metrics, gate.Metric{Name: "covered " + string(unit), Value: float64(total.Covered)},
			gate.Metric{Name: "total " + string(unit), Value: float64(total.Total)})
	}
	if opt.Baseline != nil {
		d := round2(pct - opt.Baseline.Total)
		res.Delta = &d
	}
	var reasons []string
	verdict := gate.Pass
	fail := func(why string) { verdict = gate.Fail; reasons = append(reasons, why) }
	warn := func(why string) {
		if verdict == gate.Pass {
			verdict = gate.Warn
		}
		reasons = append(reasons, why)
	}
	empty := total.Total == 0 && !p.PercentOnly
	switch {
	case empty && (opt.Min > 0 || opt.Stretch > 0):
		r.Add(gate.Finding{Diagnostic: diag.Errorf(diag.Pos{File: opt.Source}, RuleEmpty, "the coverage reports measure no executable %s, so a minimum of %s cannot be shown", unit, fmtPct(opt.Min))})
		fail("no executable " + string(unit) + " measured")
	case opt.Min > 0 && pct < opt.Min:
		r.Add(gate.Finding{Diagnostic: diag.Errorf(diag.Pos{File: opt.Source}, RuleMin, "total coverage %s is below the minimum %s", fmtPct(pct), fmtPct(opt.Min))})
		fail(fmt.Sprintf("%s < min %s", fmtPct(pct), fmtPct(opt.Min)))
	case opt.Stretch > 0 && pct < opt.Stretch:
		r.Add(gate.Finding{Diagnostic: diag.Warnf(diag.Pos{File: opt.Source}, RuleStretch, "total coverage %s meets the minimum but not the stretch goal %s", fmtPct(pct), fmtPct(opt.Stretch))})
		warn(fmt.Sprintf("%s < stretch %s", fmtPct(pct), fmtPct(opt.Stretch)))
	}

	// Modules: the natural grouping, plus one row per configured pattern.
	mods := p.Modules()
	byName := map[string]int{}
	for i, m := range mods {
		byName[m.Name] = i
	}
	for _, mm := range opt.Modules {
		c, ok := p.Match(mm.Pattern)
		min := mm.Min
		if !ok {
			r.Add(gate.Finding{Diagnostic: diag.Errorf(diag.Pos{File: opt.Source}, RuleModuleAbsent, "module %q has a minimum of %s but no file in the reports matches it", mm.Pattern, fmtPct(min))})
			fail(fmt.Sprintf("module %s not found", mm.Pattern))
			continue
		}
		m := Module{Name: mm.Pattern, Counts: c, Pct: c.Percent(), Min: &min, Met: c.Percent() >= min}
		if p.PercentOnly {
			m.Counts = Counts{}
		}
		if i, ok := byName[mm.Pattern]; ok {
			mods[i] = m
		} else {
			mods = append(mods, m)
			byName[mm.Pattern] = len(mods) - 1
		}
		if !m.Met {
			r.Add(gate.Finding{Diagnostic: diag.Errorf(diag.Pos{File: mm.Pattern}, RuleModule, "module %s coverage %s is below its minimum %s", mm.Pattern, fmtPct(m.Pct), fmtPct(min))})
			fail(fmt.Sprintf("module %s %s < %s", mm.Pattern, fmtPct(m.Pct), fmtPct(min)))
		}
	}
	for i := range mods {
		mods[i].Pct = round2(mods[i].Pct)
		if opt.Baseline != nil {
			if b, ok := opt.Baseline.Modules[mods[i].Name]; ok {
				d := round2(mods[i].Pct - b)
				mods[i].Delta = &d
			}
		}
	}
	sortModules(mods)
	res.Modules = mods

	if opt.Patch != nil {
		pp := opt.Patch.Percent()
		r.Metrics = append(r.Metrics, gate.Metric{Name: "patch coverage", Value: round2(pp), Unit: "%"},
			gate.Metric{Name: "changed lines measured", Value: float64(opt.Patch.Measured)})
		for _, f := range opt.Patch.Files {
			for _, l := range f.Missing {
				r.Add(gate.Finding{Diagnostic: diag.Warnf(diag.Pos{File: f.Path, Line: l}, RuleUncovered, "changed line not covered by tests"),
					Fingerprint: "uncovered:" + f.Path + ":" + strconv.Itoa(l)})
			}
		}
		if opt.PatchMin > 0 && opt.Patch.Measured > 0 && pp < opt.PatchMin {
			r.Add(gate.Finding{Diagnostic: diag.Errorf(diag.Pos{File: opt.Source}, RulePatch, "patch coverage %s of %s is below the minimum %s", fmtPct(pp), plural(opt.Patch.Measured, "changed line"), fmtPct(opt.PatchMin))})
			fail(fmt.Sprintf("patch %s < %s", fmtPct(pp), fmtPct(opt.PatchMin)))
		}
	}
	r.Verdict = verdict
	if len(reasons) == 0 {
		why := fmtPct(pct)
		if opt.Min > 0 {
			why += " ≥ min " + fmtPct(opt.Min)
		}
		if opt.Stretch > 0 {
			why += " ≥ stretch " + fmtPct(opt.Stretch)
		}
		if opt.Patch != nil {
			why += fmt.Sprintf("; patch %s", fmtPct(opt.Patch.Percent()))
		}
		reasons = append(reasons, why)
	}
	r.Reason = strings.Join(reasons, "; ")
	r.Details = markdown(p, res, opt)
	for _, m := range mods {
		if m.Min == nil {
			continue
		}
		tc := gate.TestCase{Name: "module " + m.Name, Class: "coverage"}
		if !m.Met {
			tc.Failure = fmt.Sprintf("%s < %s", fmtPct(m.Pct), fmtPct(*m.Min))
		}
		r.Tests = append(r.Tests, tc)
	}
	if opt.Min > 0 || opt.Stretch > 0 || len(r.Tests) == 0 {
		tc := gate.TestCase{Name: "total", Class: "coverage"}
		if opt.Min > 0 && pct < opt.Min || empty && opt.Min > 0 {
			tc.Failure = fmt.Sprintf("%s < %s", fmtPct(pct), fmtPct(opt.Min))
		}
		r.Tests = append([]gate.TestCase{tc}, r.Tests...)
	}
	if opt.Patch != nil && opt.PatchMin > 0 {
		tc := gate.TestCase{Name: "patch", Class: "coverage"}
		if opt.Patch.Measured > 0 && opt.Patch.Percent() < opt.PatchMin {
			tc.Failure = fmt.Sprintf("%s < %s", fmtPct(opt.Patch.Percent()), fmtPct(opt.PatchMin))
		}
		r.Tests = append(r.Tests, tc)
	}
	return r
}

func fmtPct(v float64) string { return gate.FormatValue(v, "%") }

// maxTableRows bounds the modules table in the Markdown comment.
const maxTableRows = 40

func markdown(p *Profile, res *Result, opt Options) string {
	var b strings.Builder
	status := "✅"
	switch {
	case opt.Min > 0 && res.Percent < opt.Min:
		status = "❌ below min"
	case opt.Stretch > 0 && res.Percent < opt.Stretch:
		status = "⚠️ below stretch"
	}
	fmt.Fprintf(&b, "**Total: %s**", fmtPct(res.Percent))
	if !p.PercentOnly {
		fmt.Fprintf(&b, " (%d of %d %s)", res.Covered, res.Total, res.Unit)
	}
	if res.Delta != nil {
		fmt.Fprintf(&b, " %s vs %s", fmtDelta(*res.Delta), opt.Baseline.Ref)
	}
	var goals []string
	if opt.Min > 0 {
		goals = append(goals, "min "+fmtPct(opt.Min))
	}
	if opt.Stretch > 0 {
		goals = append(goals, "stretch "+fmtPct(opt.Stretch))
	}
	if len(goals) > 0 {
		fmt.Fprintf(&b, " · %s · %s", strings.Join(goals, ", "), status)
	}
	b.WriteString("\n")
	if opt.Patch != nil {
		pp := opt.Patch
		fmt.Fprintf(&b, "\n**Patch: %s** of %s changed since `%s`", fmtPct(round2(pp.Percent())), plural(pp.Measured, "measured line"), opt.Base)
		if opt.PatchMin > 0 {
			mark := "✅"
			if pp.Measured > 0 && pp.Percent() < opt.PatchMin {
				mark = "❌"
			}
			fmt.Fprintf(&b, " · min %s %s", fmtPct(opt.PatchMin), mark)
		}
		b.WriteString("\n")
		for _, f := range pp.Files {
			if len(f.Missing) > 0 {
				fmt.Fprintf(&b, "- `%s` (%s): missing lines %s\n", f.Path, fmtPct(round2(f.Percent())), lineRanges(f.Missing))
			}
		}
	}
	if len(res.Modules) > 0 {
		hasDelta := opt.Baseline != nil
		b.WriteString("\n| module | coverage | min | ")
		if hasDelta {
			b.WriteString("delta | ")
		}
		b.WriteString("|\n|---|---:|---:|")
		if hasDelta {
			b.WriteString("---:|")
		}
		b.WriteString("---|\n")
		for i, m := range res.Modules {
			if i == maxTableRows {
				fmt.Fprintf(&b, "\n…and %d more modules (see --json).\n", len(res.Modules)-maxTableRows)
				break
			}
			min, mark := "", ""
			if m.Min != nil {
				min = fmtPct(*m.Min)
				mark = "✅"
				if !m.Met {
					mark = "❌"
				}
			}
			cov := fmtPct(m.Pct)
			if m.Counts.Total > 0 {
				cov += fmt.Sprintf(" (%d/%d)", m.Counts.Covered, m.Counts.Total)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | ", strings.ReplaceAll(m.Name, "|", `\|`), cov, min)
			if hasDelta {
				d := ""
				if m.Delta != nil {
					d = fmtDelta(*m.Delta)
				}
				fmt.Fprintf(&b, "%s | ", d)
			}
			fmt.Fprintf(&b, "%s |\n", mark)
		}
	}
	return b.String()
}

func fmtDelta(d float64) string {
	switch {
	case d > 0:
		return "▲ +" + strconv.FormatFloat(d, 'f', 2, 64)
	case d < 0:
		return "▼ " + strconv.FormatFloat(d, 'f', 2, 64)
	}
	return "= 0.00"
}

// lineRanges prints sorted line numbers as "2-4,8,10".
func lineRanges(ls []int) string {
	var parts []string
	for i := 0; i < len(ls); {
		j := i
		for j+1 < len(ls) && ls[j+1] == ls[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", ls[i], ls[j]))
		} else {
			parts = append(parts, strconv.Itoa(ls[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
