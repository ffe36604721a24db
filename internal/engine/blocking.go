package engine

import (
	"slices"

	"github.com/shipgate/shipgate/internal/diag"
)

// blockingRules are the diagnostics that stop a run before it starts: the
// file is not a workflow GitHub would run, or it asks for something the
// engine cannot do. Other error-level diagnostics from actionlint's checks
// (expression type checks, deprecated commands, runner labels, shellcheck,
// action metadata) are lint findings: `shipgate validate` reports them, a
// run shows them as warnings and goes on, as GitHub itself would.
var blockingRules = []string{"syntax-check", "job-needs", "id", "matrix", "workflow-call", "shell-name", "events", "plan-needs", "plan-matrix", "plan-input", "plan-event", "shipgate-support"}

// Blocking splits diagnostics into those that stop a run and the rest.
func Blocking(ds []diag.Diagnostic) (block, warn []diag.Diagnostic) {
	for _, d := range ds {
		if d.Severity == diag.Error && slices.Contains(blockingRules, d.Rule) {
			block = append(block, d)
		} else {
			warn = append(warn, d)
		}
	}
	return block, warn
}
