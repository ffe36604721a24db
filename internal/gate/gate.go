// Package gate holds what every release-safety gate shares: the Report a gate
// returns, its Findings, a Verdict with more than two values, and the
// renderers that turn a report into text, JSON, Markdown, SARIF and JUnit.
//
// A gate is a function from its inputs and options to a *Report; the CLI
// (`shipgate <gate>`) and the built-in action (`uses: shipgate/<gate>@v1`)
// both call that function and hand the report to these renderers.
package gate

import (
	"fmt"

	"github.com/shipgate/shipgate/internal/diag"
)

// Verdict is a gate's outcome.
type Verdict string

const (
	// Pass: every threshold met.
	Pass Verdict = "pass"
	// Warn: met the minimum but missed a goal; does not fail.
	Warn Verdict = "warn"
	// Fail: a threshold missed or a blocking finding present (exit 1).
	Fail Verdict = "fail"
	// Inconclusive: not enough evidence either way (e.g. too few samples).
	Inconclusive Verdict = "inconclusive"
	// Skipped: the gate does not apply here; Reason says why.
	Skipped Verdict = "skipped"
)

// Failed reports whether the verdict should fail a pipeline.
func (v Verdict) Failed() bool { return v == Fail }

// Icon is the emoji used in Markdown summaries.
func (v Verdict) Icon() string {
	switch v {
	case Pass:
		return "✅"
	case Warn:
		return "⚠️"
	case Fail:
		return "❌"
	case Inconclusive:
		return "❔"
	}
	return "⏭️"
}

// Finding is one thing a gate found, positioned where it has a position.
type Finding struct {
	diag.Diagnostic
	// Fingerprint identifies the finding across runs and edits (baselines,
	// SARIF partialFingerprints). Never contains a secret.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Properties carry gate-specific facts (package, version, CVSS score...).
	Properties map[string]any `json:"properties,omitempty"`
}

// Metric is a named figure a gate measured, shown in summaries.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
}

// Report is what a gate returns.
type Report struct {
	// Gate is the gate's name, e.g. "coverage".
	Gate string `json:"gate"`
	// Verdict is the outcome; Reason explains it in one line.
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason,omitempty"`
	// Metrics are headline figures (coverage %, test counts...).
	Metrics []Metric `json:"metrics,omitempty"`
	// Findings are positioned results.
	Findings []Finding `json:"findings,omitempty"`
	// Rules describe the rule IDs findings use (for SARIF).
	Rules []diag.Rule `json:"-"`
	// Details is gate-specific Markdown placed under the headline in
	// summaries (tables of modules, benchmark comparisons...).
	Details string `json:"-"`
	// Data is gate-specific structured output for --json.
	Data any `json:"data,omitempty"`
	// Tests, when set, are rendered as JUnit test cases (one per check).
	Tests []TestCase `json:"-"`
	// NoSource keeps WriteText from printing the source line under each
	// finding (the secrets gate: that line holds the secret).
	NoSource bool `json:"-"`
}

// TestCase is a check rendered as one JUnit test case.
type TestCase struct {
	Name    string
	Class   string
	Failure string // empty when passed
	Skipped string // reason when skipped
	Seconds float64
}

// Add appends a finding.
func (r *Report) Add(f Finding) { r.Findings = append(r.Findings, f) }

// Metric returns a metric's value by name.
func (r *Report) Metric(name string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// Headline is the one-line text form: "coverage: fail — 72.1% < 80%".
func (r *Report) Headline() string {
	if r.Reason == "" {
		return fmt.Sprintf("%s: %s", r.Gate, r.Verdict)
	}
	return fmt.Sprintf("%s: %s — %s", r.Gate, r.Verdict, r.Reason)
}

// ExitCode maps the verdict to the documented exit codes: 1 when it fails,
// 0 otherwise.
func (r *Report) ExitCode() int {
	if r.Verdict.Failed() {
		return 1
	}
	return 0
}
