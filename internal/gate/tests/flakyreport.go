package tests

import (
	"fmt"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
)

// History is what the store knows of a test: its flip rate and how many
// runs it was in.
type History struct {
	FlipRate float64
	Runs     int
}

// FlakyReportOptions configure FlakyReport.
type FlakyReportOptions struct {
	Quarantine *Quarantine
	Now        time.Time
	// History per test ID (after recording this run), when the store is on.
	History map[string]History
	// FailOnFlaky makes a flaky test fail the gate (default: warn).
	FailOnFlaky bool
	// Command is shown in the report.
	Command string
}

// FlakyReport turns Detect's result into the gate's report: a stable
// failure outside the quarantine fails; flaky tests warn (or fail with
// FailOnFlaky); an expired quarantine entry fails.
func FlakyReport(res *FlakyResult, opt FlakyReportOptions) *gate.Report {
	r := &gate.Report{Gate: "tests", Rules: Rules, Data: res}
	var stableFail, flaky, quarantined int
	var histFlaky []string
	for _, o := range res.Tests {
		if h, ok := opt.History[o.ID]; ok {
			fr := h.FlipRate
			o.FlipRate, o.HistoryRuns = &fr, h.Runs
		}
		if e, ok := opt.Quarantine.Find(o.last); ok && !e.Expired(opt.Now) {
			o.Quarantined = true
		}
		tc := gate.TestCase{Name: o.last.Name, Class: o.last.Class}
		switch o.Class {
		case StableFail:
			tc.Failure = orText(o.Message, "failed on every attempt")
		case FlakyTest:
			if opt.FailOnFlaky {
				tc.Failure = "flaky: " + resultsString(o.Results)
			}
		case SkippedTest:
			tc.Skipped = "skipped"
		}
		r.Tests = append(r.Tests, tc)
		w := o.where()
		pos := diag.Pos{File: w.File}
		if w.SourceFile != "" {
			pos = diag.Pos{File: w.SourceFile, Line: w.Line}
		}
		switch o.Class {
		case StableFail:
			sev, rule := diag.Error, RuleStableFail
			msg := fmt.Sprintf("%s failed on all %d attempts", o.ID, len(o.Results))
			if o.Message != "" {
				msg += ": " + truncate(o.Message, 300)
			}
			if o.Quarantined {
				sev, rule = diag.Warning, RuleQuarantined
				quarantined++
				msg += " (quarantined)"
			} else {
				stableFail++
			}
			r.Add(gate.Finding{Diagnostic: diag.Diagnostic{Pos: pos, Rule: rule, Severity: sev, Message: msg}, Fingerprint: "test:" + o.ID})
		case FlakyTest:
			sev := diag.Warning
			if opt.FailOnFlaky && !o.Quarantined {
				sev = diag.Error
			}
			flaky++
			msg := fmt.Sprintf("%s is flaky: %s", o.ID, resultsString(o.Results))
			if o.FlipRate != nil {
				msg += fmt.Sprintf(", flip rate %.2f over %d runs", *o.FlipRate, o.HistoryRuns)
			}
			if o.Quarantined {
				msg += " (quarantined)"
			}
			r.Add(gate.Finding{Diagnostic: diag.Diagnostic{Pos: pos, Rule: RuleFlaky, Severity: sev, Message: msg}, Fingerprint: "flaky:" + o.ID})
		default:
			if o.FlipRate != nil && *o.FlipRate > 0 {
				histFlaky = append(histFlaky, fmt.Sprintf("%s (%.2f over %d runs)", o.ID, *o.FlipRate, o.HistoryRuns))
				r.Add(gate.Finding{Diagnostic: diag.Diagnostic{Pos: pos, Rule: RuleFlaky, Severity: diag.Info,
					Message: fmt.Sprintf("%s passed here but flipped in the history: flip rate %.2f over %d runs", o.ID, *o.FlipRate, o.HistoryRuns)},
					Fingerprint: "flaky:" + o.ID})
			}
		}
	}
	expired := 0
	if q := opt.Quarantine; q != nil {
		for _, e := range q.Entries {
			if e.Expired(opt.Now) {
				expired++
				r.Add(gate.Finding{Diagnostic: diag.Errorf(diag.Pos{File: q.File, Line: e.Line, Col: e.Col}, RuleExpired,
					"quarantine of %q expired on %s (owner %s): fix the test or renew the entry", e.Test, e.Expires, e.Owner)})
			}
		}
	}
	cnt := res.Count()
	r.Metrics = []gate.Metric{
		{Name: "tests", Value: float64(len(res.Tests))},
		{Name: "stable pass", Value: float64(cnt[StablePass])},
		{Name: "new", Value: float64(cnt[NewTest])},
		{Name: "flaky", Value: float64(cnt[FlakyTest])},
		{Name: "stable fail", Value: float64(cnt[StableFail])},
		{Name: "attempts", Value: float64(res.Attempts)},
		{Name: "test executions", Value: float64(res.Executions)},
	}
	if res.FullCost > 0 {
		r.Metrics = append(r.Metrics, gate.Metric{Name: "cost vs full runs", Value: float64(res.Executions) * 100 / float64(res.FullCost), Unit: "%"})
	}
	switch {
	case stableFail > 0 || expired > 0 || (opt.FailOnFlaky && flaky > quarantinedFlaky(res)):
		r.Verdict = gate.Fail
	case flaky > 0 || quarantined > 0:
		r.Verdict = gate.Warn
	default:
		r.Verdict = gate.Pass
	}
	r.Reason = fmt.Sprintf("%d stable fail, %d flaky, %d new, %d stable pass (%s mode, %d attempts, %d test executions)",
		cnt[StableFail], cnt[FlakyTest], cnt[NewTest], cnt[StablePass], res.Mode, res.Attempts, res.Executions)
	if expired > 0 {
		r.Reason += fmt.Sprintf("; %d quarantine entries expired", expired)
	}
	r.Details = flakyMarkdown(res, histFlaky, opt)
	return r
}

func quarantinedFlaky(res *FlakyResult) int {
	n := 0
	for _, o := range res.Tests {
		if o.Class == FlakyTest && o.Quarantined {
			n++
		}
	}
	return n
}

func resultsString(rs []Result) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		switch r {
		case Passed:
			parts[i] = "pass"
		case Skipped:
			parts[i] = "skip"
		default:
			parts[i] = "FAIL"
		}
	}
	return strings.Join(parts, " ")
}

func flakyMarkdown(res *FlakyResult, histFlaky []string, opt FlakyReportOptions) string {
	var b strings.Builder
	if opt.Command != "" {
		fmt.Fprintf(&b, "Command: `%s`\n\n", mdCell(opt.Command))
	}
	fmt.Fprintf(&b, "Mode: **%s**, %d attempts, %d test executions", res.Mode, res.Attempts, res.Executions)
	if res.FullCost > 0 {
		fmt.Fprintf(&b, " (%.0f%% of %d for full runs)", float64(res.Executions)*100/float64(res.FullCost), res.FullCost)
	}
	b.WriteString("\n")
	if res.ModeNote != "" {
		fmt.Fprintf(&b, "\n%s\n", res.ModeNote)
	}
	var rows []*Outcome
	for _, o := range res.Tests {
		if o.Class == FlakyTest || o.Class == StableFail {
			rows = append(rows, o)
		}
	}
	if len(rows) > 0 {
		b.WriteString("\n| test | class | attempts | flip rate | |\n|---|---|---|---:|---|\n")
		for i, o := range rows {
			if i == maxListed {
				fmt.Fprintf(&b, "\n…and %d more (see --json).\n", len(rows)-maxListed)
				break
			}
			fr := ""
			if o.FlipRate != nil {
				fr = fmt.Sprintf("%.2f (%d runs)", *o.FlipRate, o.HistoryRuns)
			}
			q := ""
			if o.Quarantined {
				q = "quarantined"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", mdCell(o.ID), o.Class, resultsString(o.Results), fr, q)
		}
	}
	if len(histFlaky) > 0 {
		fmt.Fprintf(&b, "\nClean in this run but flaky in the history: %s\n", strings.Join(histFlaky, ", "))
	}
	return b.String()
}
