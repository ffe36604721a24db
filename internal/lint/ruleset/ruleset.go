// Package ruleset is the rule table every linter in internal/lint keeps:
// each rule's ID, default severity and one-line summary, and the lookups
// the linters and SARIF output need from it.
package ruleset

import "github.com/shipgate/shipgate/internal/diag"

// Rule is one rule with its default severity.
type Rule struct {
	ID       string
	Severity diag.Severity
	Summary  string
}

// Set is a linter's rules.
type Set []Rule

// Diag returns the rules in the form SARIF's rule table wants.
func (s Set) Diag(helpURI string) []diag.Rule {
	out := make([]diag.Rule, len(s))
	for i, r := range s {
		out[i] = diag.Rule{ID: r.ID, Description: r.Summary, HelpURI: helpURI}
	}
	return out
}

// Severity is a rule's default severity; an unknown ID is an error.
func (s Set) Severity(id string) diag.Severity {
	for _, r := range s {
		if r.ID == id {
			return r.Severity
		}
	}
	return diag.Error
}
