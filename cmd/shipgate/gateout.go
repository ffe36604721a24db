package main

import (
	"fmt"
	"io"

	"github.com/shipgate/shipgate/internal/atomicfile"
	"github.com/shipgate/shipgate/internal/gate"
	"github.com/spf13/cobra"
)

// reportFlags are the output flags every gate command shares.
type reportFlags struct {
	json     bool
	format   string
	sarif    string
	junit    string
	markdown string
}

func (f *reportFlags) register(c *cobra.Command) {
	c.Flags().BoolVar(&f.json, "json", false, "print the report as JSON (same as --format json)")
	c.Flags().StringVar(&f.format, "format", "text", "output format: text, json, markdown, sarif, junit")
	c.Flags().StringVar(&f.sarif, "sarif", "", "also write a SARIF 2.1.0 report to `FILE`")
	c.Flags().StringVar(&f.junit, "junit", "", "also write a JUnit XML report to `FILE`")
	c.Flags().StringVar(&f.markdown, "markdown", "", "also write the Markdown summary to `FILE`")
}

// emit prints a gate's report in the chosen format, writes the side reports,
// appends the step summary when $GITHUB_STEP_SUMMARY is set, and returns the
// error that gives the documented exit code.
func (a *app) emit(f *reportFlags, r *gate.Report) error {
	format := f.format
	if f.json {
		format = "json"
	}
	writers := map[string]func(io.Writer) error{
		"text":     func(w io.Writer) error { return gate.WriteText(w, r) },
		"json":     func(w io.Writer) error { return gate.WriteJSON(w, r) },
		"markdown": func(w io.Writer) error { return gate.WriteMarkdown(w, r) },
		"sarif":    func(w io.Writer) error { return gate.WriteSARIF(w, version, r) },
		"junit":    func(w io.Writer) error { return gate.WriteJUnit(w, r) },
	}
	write, ok := writers[format]
	if !ok {
		return usageError("unknown --format %q (want text, json, markdown, sarif or junit)", format)
	}
	for path, kind := range map[string]string{f.sarif: "sarif", f.junit: "junit", f.markdown: "markdown"} {
		if path == "" {
			continue
		}
		if err := atomicfile.Write(path, 0o644, writers[kind]); err != nil {
			return asUsage(fmt.Errorf("writing %s report: %w", kind, err))
		}
	}
	if err := write(a.stdout); err != nil {
		return err
	}
	if err := gate.AppendStepSummary(r); err != nil {
		fmt.Fprintf(a.stderr, "shipgate: warning: %v\n", err)
	}
	if r.Verdict.Failed() {
		return failed(nil)
	}
	return nil
}
