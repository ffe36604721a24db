package gate

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shipgate/shipgate/internal/diag"
)

// WriteText prints the headline, the metrics and every finding with its
// source line.
func WriteText(w io.Writer, r *Report) error {
	fmt.Fprintln(w, r.Headline())
	for _, m := range r.Metrics {
		fmt.Fprintf(w, "  %s: %s\n", m.Name, FormatValue(m.Value, m.Unit))
	}
	if len(r.Findings) > 0 {
		ds := make([]diag.Diagnostic, len(r.Findings))
		for i, f := range r.Findings {
			ds[i] = f.Diagnostic
		}
		src := diag.Sources{}
		if r.NoSource {
			for _, f := range r.Findings {
				src[f.Pos.File] = nil // present but empty: never read from disk
			}
		}
		return diag.WriteText(w, ds, src, false)
	}
	return nil
}

// FormatValue prints a metric with its unit.
func FormatValue(v float64, unit string) string {
	s := strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	switch unit {
	case "":
		return s
	case "%":
		return s + "%"
	}
	return s + " " + unit
}

// WriteJSON prints the report as one JSON object.
func WriteJSON(w io.Writer, r *Report) error {
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown prints the report as a step-summary section.
func WriteMarkdown(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "### %s shipgate %s: %s\n\n", r.Verdict.Icon(), r.Gate, r.Verdict)
	if r.Reason != "" {
		fmt.Fprintf(w, "%s\n\n", r.Reason)
	}
	if len(r.Metrics) > 0 {
		fmt.Fprintln(w, "| metric | value |\n|---|---|")
		for _, m := range r.Metrics {
			fmt.Fprintf(w, "| %s | %s |\n", m.Name, FormatValue(m.Value, m.Unit))
		}
		fmt.Fprintln(w)
	}
	if r.Details != "" {
		fmt.Fprintf(w, "%s\n\n", strings.TrimRight(r.Details, "\n"))
	}
	if len(r.Findings) > 0 {
		fmt.Fprintln(w, "| severity | rule | location | message |\n|---|---|---|---|")
		for _, f := range r.Findings {
			fmt.Fprintf(w, "| %s | `%s` | %s | %s |\n", f.Severity, f.Rule, mdEscape(f.Pos.String()), mdEscape(f.Message))
		}
		fmt.Fprintln(w)
	}
	return nil
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// AppendStepSummary appends the Markdown report to $GITHUB_STEP_SUMMARY when
// that is set, as a step inside GitHub Actions (or shipgate run) expects.
func AppendStepSummary(r *Report) error {
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("step summary: %w", err)
	}
	if err := WriteMarkdown(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteSARIF writes the reports' findings as a SARIF 2.1.0 log, one run per
// gate.
func WriteSARIF(w io.Writer, version string, reports ...*Report) error {
	runs := make([]diag.SARIFRun, 0, len(reports))
	for _, r := range reports {
		run := diag.SARIFRun{Tool: "shipgate-" + r.Gate, Version: version, Rules: r.Rules}
		for _, f := range r.Findings {
			run.Results = append(run.Results, diag.SARIFResult{Diagnostic: f.Diagnostic, Fingerprint: f.Fingerprint, Properties: f.Properties})
		}
		runs = append(runs, run)
	}
	return diag.WriteSARIF(w, runs...)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name    string     `xml:"name,attr"`
	Class   string     `xml:"classname,attr"`
	Time    string     `xml:"time,attr"`
	Failure *junitText `xml:"failure,omitempty"`
	Skipped *junitText `xml:"skipped,omitempty"`
}

type junitText struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit renders each report as a JUnit test suite: its Tests when set,
// otherwise one case per finding (failing for errors) or one passing case.
func WriteJUnit(w io.Writer, reports ...*Report) error {
	out := junitSuites{Name: "shipgate"}
	for _, r := range reports {
		s := junitSuite{Name: "shipgate." + r.Gate}
		cases := r.Tests
		if cases == nil {
			for _, f := range r.Findings {
				tc := TestCase{Name: f.Rule + " " + f.Pos.String(), Class: r.Gate}
				if f.Severity == diag.Error {
					tc.Failure = f.Message
				}
				cases = append(cases, tc)
			}
			if len(cases) == 0 {
				tc := TestCase{Name: r.Gate, Class: r.Gate}
				switch r.Verdict {
				case Fail:
					tc.Failure = r.Reason
				case Skipped:
					tc.Skipped = r.Reason
				}
				cases = append(cases, tc)
			}
		}
		for _, c := range cases {
			jc := junitCase{Name: c.Name, Class: c.Class, Time: fmt.Sprintf("%.3f", c.Seconds)}
			if c.Failure != "" {
				jc.Failure = &junitText{Message: firstLine(c.Failure), Text: c.Failure}
				s.Failures++
			} else if c.Skipped != "" {
				jc.Skipped = &junitText{Message: c.Skipped}
				s.Skipped++
			}
			s.Cases = append(s.Cases, jc)
		}
		s.Tests = len(s.Cases)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
