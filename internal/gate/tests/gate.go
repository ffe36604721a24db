package tests

import (
	"fmt"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
)

// Rule IDs the tests gate reports.
const (
	RuleFailed      = "tests/failed"
	RuleErrored     = "tests/error"
	RuleQuarantined = "tests/quarantined-failure"
	RuleExpired     = "tests/quarantine-expired"
	RuleFlaky       = "tests/flaky"
	RuleStableFail  = "tests/stable-failure"
	RuleNoTests     = "tests/none"
)

// Rules describes the rule IDs for SARIF.
var Rules = []diag.Rule{
	{ID: RuleFailed, Description: "A test failed"},
	{ID: RuleErrored, Description: "A test errored"},
	{ID: RuleQuarantined, Description: "A quarantined (known-flaky) test failed; it does not fail the gate"},
	{ID: RuleExpired, Description: "A quarantine entry has expired"},
	{ID: RuleFlaky, Description: "A test passed and failed on the same code"},
	{ID: RuleStableFail, Description: "A test failed on every run"},
	{ID: RuleNoTests, Description: "The reports hold no test cases"},
}

// Summary is the structured output of `tests report` (--json data).
type Summary struct {
	Files       int         `json:"files"`
	Suites      int         `json:"suites"`
	Runs        Counts      `json:"runs"`
	Tests       Counts      `json:"tests"`
	Quarantined []string    `json:"quarantined,omitempty"`
	Expired     []string    `json:"expired_quarantine,omitempty"`
	Flaky       []string    `json:"flaky,omitempty"`
	Failures    []Case      `json:"failures,omitempty"`
	Quarantine  *Quarantine `json:"-"`
}

// maxListed bounds the failures listed in Markdown and findings text.
const maxListed = 50

// Evaluate turns parsed reports into the gate's report: fail when a test
// failed or errored outside the quarantine, or a quarantine entry expired.
func Evaluate(rep *Report, q *Quarantine, now time.Time) *gate.Report {
	r := &gate.Report{Gate: "tests", Rules: Rules}
	sum := &Summary{Files: rep.Files, Suites: rep.Suites, Runs: rep.Runs(), Tests: rep.TestCounts(), Quarantine: q}
	r.Data = sum
	blocking, quarantined := 0, 0
	for _, t := range rep.Tests() {
		if t.Flaky {
			sum.Flaky = append(sum.Flaky, t.ID)
		}
	}
	seenQ := map[string]bool{}
	for _, c := range rep.Cases {
		tc := gate.TestCase{Name: c.Name, Class: c.Class, Seconds: c.Seconds}
		switch c.Result {
		case Skipped:
			tc.Skipped = orText(c.Message, "skipped")
		case Failed, Errored:
			tc.Failure = orText(c.Message, string(c.Result))
		}
		r.Tests = append(r.Tests, tc)
		if !c.Result.Bad() {
			continue
		}
		pos := diag.Pos{File: c.File}
		if c.SourceFile != "" {
			pos = diag.Pos{File: c.SourceFile, Line: c.Line}
		}
		verb := "failed"
		rule := RuleFailed
		if c.Result == Errored {
			verb, rule = "errored", RuleErrored
		}
		msg := fmt.Sprintf("%s %s", c.ID(), verb)
		if m := firstLine(c.Message); m != "" {
			msg += ": " + truncate(m, 300)
		}
		if e, ok := q.Find(c); ok && !e.Expired(now) {
			quarantined++
			if !seenQ[c.ID()] {
				seenQ[c.ID()] = true
				sum.Quarantined = append(sum.Quarantined, c.ID())
			}
			r.Add(gate.Finding{Diagnostic: diag.Diagnostic{Pos: pos, Rule: RuleQuarantined, Severity: diag.Warning,
				Message: fmt.Sprintf("%s (quarantined until %s, owner %s: %s)", msg, e.Expires, e.Owner, e.Reason)},
				Fingerprint: "test:" + c.ID()})
			continue
		}
		blocking++
		sum.Failures = append(sum.Failures, c)
		r.Add(gate.Finding{Diagnostic: diag.Diagnostic{Pos: pos, Rule: rule, Severity: diag.Error, Message: msg}, Fingerprint: "test:" + c.ID()})
	}
	// Declared-only failures (suites with counts and no cases).
	if d := rep.Declared; d.Failures+d.Errors > 0 {
		blocking += d.Failures + d.Errors
		r.Add(gate.Finding{Diagnostic: diag.Errorf(diag.Pos{}, RuleFailed, "%d failures and %d errors declared by suites that list no test cases", d.Failures, d.Errors)})
	}
	expired := 0
	if q != nil {
		for _, e := range q.Entries {
			if e.Expired(now) {
				expired++
				sum.Expired = append(sum.Expired, e.Test)
				r.Add(gate.Finding{Diagnostic: diag.Errorf(diag.Pos{File: q.File, Line: e.Line, Col: e.Col}, RuleExpired,
					"quarantine of %q expired on %s (owner %s): fix the test or renew the entry", e.Test, e.Expires, e.Owner)})
			}
		}
	}
	tcnt := sum.Tests
	r.Metrics = []gate.Metric{
		{Name: "tests", Value: float64(tcnt.Total)},
		{Name: "passed", Value: float64(tcnt.Passed)},
		{Name: "failed", Value: float64(tcnt.Failed)},
		{Name: "errors", Value: float64(tcnt.Errored)},
		{Name: "skipped", Value: float64(tcnt.Skipped)},
	}
	if quarantined > 0 {
		r.Metrics = append(r.Metrics, gate.Metric{Name: "quarantined failures", Value: float64(quarantined)})
	}
	if len(sum.Flaky) > 0 {
		r.Metrics = append(r.Metrics, gate.Metric{Name: "flaky (passed on re-run)", Value: float64(len(sum.Flaky))})
	}
	switch {
	case blocking > 0 || expired > 0:
		r.Verdict = gate.Fail
		var parts []string
		if blocking > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d runs failed", blocking, sum.Runs.Total))
		}
		if expired > 0 {
			parts = append(parts, fmt.Sprintf("%d quarantine entries expired", expired))
		}
		if quarantined > 0 {
			parts = append(parts, fmt.Sprintf("%d quarantined failures", quarantined))
		}
		r.Reason = strings.Join(parts, "; ")
	case sum.Runs.Total == 0:
		r.Verdict = gate.Skipped
		r.Reason = "the reports hold no test cases"
	case quarantined > 0 || len(sum.Flaky) > 0:
		r.Verdict = gate.Warn
		r.Reason = fmt.Sprintf("%d tests passed; %d quarantined failures, %d flaky", tcnt.Passed, quarantined, len(sum.Flaky))
	default:
		r.Verdict = gate.Pass
		r.Reason = fmt.Sprintf("%d tests passed, %d skipped", tcnt.Passed, tcnt.Skipped)
	}
	r.Details = reportMarkdown(sum)
	return r
}

func reportMarkdown(s *Summary) string {
	var b strings.Builder
	t := s.Tests
	fmt.Fprintf(&b, "%d tests in %d files: ✅ %d passed · ❌ %d failed · 🔥 %d errors · 💤 %d skipped",
		t.Total, s.Files, t.Passed, t.Failed, t.Errored, t.Skipped)
	if s.Runs.Total != t.Total {
		fmt.Fprintf(&b, " (%d runs)", s.Runs.Total)
	}
	b.WriteString("\n")
	if len(s.Failures) > 0 {
		b.WriteString("\n| failed test | message |\n|---|---|\n")
		for i, c := range s.Failures {
			if i == maxListed {
				fmt.Fprintf(&b, "\n…and %d more (see --json).\n", len(s.Failures)-maxListed)
				break
			}
			fmt.Fprintf(&b, "| `%s` | %s |\n", mdCell(c.ID()), mdCell(truncate(firstLine(c.Message), 200)))
		}
	}
	if len(s.Quarantined) > 0 {
		fmt.Fprintf(&b, "\nQuarantined failures (not blocking): %s\n", codeList(s.Quarantined))
	}
	if len(s.Expired) > 0 {
		fmt.Fprintf(&b, "\nExpired quarantine entries: %s\n", codeList(s.Expired))
	}
	if len(s.Flaky) > 0 {
		fmt.Fprintf(&b, "\nFlaky (failed, then passed on a re-run): %s\n", codeList(s.Flaky))
	}
	return b.String()
}

func codeList(ss []string) string {
	out := make([]string, 0, len(ss))
	for i, s := range ss {
		if i == maxListed {
			out = append(out, fmt.Sprintf("…%d more", len(ss)-maxListed))
			break
		}
		out = append(out, "`"+mdCell(s)+"`")
	}
	return strings.Join(out, ", ")
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && (s[n]&0xc0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
