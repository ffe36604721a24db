package diag

import (
	"io"
	"slices"

	"github.com/owenrumney/go-sarif/v3/pkg/report"
	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

// Rule describes a rule ID for SARIF's rule table.
type Rule struct {
	ID          string
	Description string
	HelpURI     string
}

// SARIFResult is a diagnostic with what SARIF can carry beyond it.
type SARIFResult struct {
	Diagnostic
	// Fingerprint identifies the finding across runs (partialFingerprints).
	Fingerprint string
	// Properties land in the result's property bag (e.g. security-severity).
	Properties map[string]any
}

// SARIFRun is one tool's results.
type SARIFRun struct {
	Tool    string
	Version string
	URI     string
	Rules   []Rule
	Results []SARIFResult
}

// WriteSARIF writes a SARIF 2.1.0 log with one run per tool, valid against the
// schema and in the shape GitHub code scanning uploads accept.
func WriteSARIF(w io.Writer, runs ...SARIFRun) error {
	rep := report.NewV210Report()
	for _, r := range runs {
		run := sarif.NewRunWithInformationURI(r.Tool, orDefault(r.URI, "https://github.com/shipgate/shipgate"))
		if r.Version != "" {
			run.Tool.Driver.WithVersion(r.Version)
		}
		known := map[string]bool{}
		for _, rule := range r.Rules {
			known[rule.ID] = true
			pr := run.AddRule(rule.ID).WithDescription(orDefault(rule.Description, rule.ID))
			if rule.HelpURI != "" {
				pr.WithHelpURI(rule.HelpURI)
			}
		}
		ids := []string{}
		for _, res := range r.Results {
			if !known[res.Rule] && !slices.Contains(ids, res.Rule) {
				ids = append(ids, res.Rule)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			run.AddRule(id).WithDescription(id)
		}
		for _, res := range r.Results {
			out := run.CreateResultForRule(res.Rule).
				WithLevel(sarifLevel(res.Severity)).
				WithMessage(sarif.NewTextMessage(res.Message))
			if res.Pos.File != "" {
				phys := sarif.NewPhysicalLocation().
					WithArtifactLocation(sarif.NewSimpleArtifactLocation(res.Pos.File))
				if res.Pos.Line > 0 {
					region := sarif.NewRegion().WithStartLine(res.Pos.Line)
					if res.Pos.Col > 0 {
						region.WithStartColumn(res.Pos.Col)
					}
					if res.Pos.EndCol > res.Pos.Col {
						region.WithEndColumn(res.Pos.EndCol)
					}
					phys.WithRegion(region)
				}
				out.AddLocation(sarif.NewLocationWithPhysicalLocation(phys))
			}
			if res.Fingerprint != "" {
				out.WithPartialFingerprints(map[string]string{"shipgate/v1": res.Fingerprint})
			}
			if len(res.Properties) > 0 {
				pb := sarif.NewPropertyBag()
				keys := make([]string, 0, len(res.Properties))
				for k := range res.Properties {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					pb.Add(k, res.Properties[k])
				}
				out.WithProperties(pb)
			}
		}
		rep.AddRun(run)
	}
	return rep.PrettyWrite(w)
}

func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
