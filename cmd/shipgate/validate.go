package main

import (
	"fmt"

	"github.com/shipgate/shipgate/internal/actions"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/workflow"
	"github.com/spf13/cobra"
)

func (a *app) validateCmd() *cobra.Command {
	var format string
	var noScripts bool
	c := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check workflow files: every actionlint check plus what shipgate cannot run yet",
		Long: `Validate parses workflow files and runs every actionlint check on them
(syntax, expressions and their types, needs, matrices, runner labels,
action inputs, shellcheck and pyflakes on scripts when those are installed),
plus shipgate's own rule shipgate-support, which warns about each key or
feature that 'shipgate run' does not support yet.

PATH is a workflow file or a folder of them (default: .github/workflows).
Every problem in every file is reported in one run.

Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 bad usage or
a path that cannot be read.`,
		Example: `  shipgate validate
  shipgate validate .github/workflows/ci.yml
  shipgate validate --format sarif > workflows.sarif
  shipgate validate --format json ci/ | jq '.[].rule'`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{defaultWorkflowDir}
			}
			files, err := workflow.FindFiles(args)
			if err != nil {
				return asUsage(err)
			}
			if len(files) == 0 {
				return usageError("no workflow files (*.yml, *.yaml) in %v", args)
			}
			ds, errs := workflow.CheckFiles(files, workflow.Options{NoScriptCheck: noScripts, KnownAction: actions.Known})
			if len(errs) > 0 {
				return asUsage(errs[0])
			}
			if err := a.printDiagnostics(format, "shipgate-validate", ds); err != nil {
				return err
			}
			nerr, nwarn, _ := diag.Count(ds)
			if format == "text" {
				fmt.Fprintf(a.stderr, "%d file(s): %d error(s), %d warning(s)\n", len(files), nerr, nwarn)
			}
			if nerr > 0 {
				return failed(nil)
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text, json, sarif")
	c.Flags().BoolVar(&noScripts, "no-script-checks", false, "do not run shellcheck and pyflakes on run: scripts")
	return c
}

// printDiagnostics writes diagnostics in the chosen format to stdout.
func (a *app) printDiagnostics(format, tool string, ds []diag.Diagnostic) error {
	switch format {
	case "text":
		return diag.WriteText(a.stdout, ds, nil, isTerminal(a.stdout))
	case "json":
		return diag.WriteJSON(a.stdout, ds)
	case "sarif":
		res := make([]diag.SARIFResult, len(ds))
		for i, d := range ds {
			res[i] = diag.SARIFResult{Diagnostic: d}
		}
		return diag.WriteSARIF(a.stdout, diag.SARIFRun{Tool: tool, Version: version, Results: res})
	}
	return usageError("unknown --format %q (want text, json or sarif)", format)
}
