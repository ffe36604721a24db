package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/shipgate/shipgate/internal/actions"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/plan"
	"github.com/spf13/cobra"
)

// plannedJob is one line of `shipgate plan --json`.
type plannedJob struct {
	ID          string         `json:"id"`
	Job         string         `json:"job"`
	Name        string         `json:"name"`
	Needs       []string       `json:"needs"`
	Matrix      map[string]any `json:"matrix,omitempty"`
	Leg         int            `json:"leg,omitempty"`
	Legs        int            `json:"legs,omitempty"`
	Dynamic     bool           `json:"dynamic_matrix,omitempty"`
	If          string         `json:"if,omitempty"`
	Environment string         `json:"environment,omitempty"`
	Concurrency string         `json:"concurrency,omitempty"`
}

type planOutput struct {
	Workflow    string       `json:"workflow"`
	File        string       `json:"file"`
	Event       string       `json:"event"`
	Ref         string       `json:"ref"`
	Triggered   bool         `json:"triggered"`
	Reason      string       `json:"reason,omitempty"`
	Concurrency string       `json:"concurrency,omitempty"`
	Jobs        []plannedJob `json:"jobs"`
}

func (a *app) planCmd() *cobra.Command {
	var f workflowFlags
	var asJSON bool
	var only []string
	c := &cobra.Command{
		Use:   "plan",
		Short: "Show which jobs and matrix legs would run for an event, in dependency order",
		Long: `Plan reads a workflow and an event and prints the jobs that would run, one
line per job or matrix leg, in dependency order, with their resolved names,
needs, conditions and concurrency groups. Nothing is executed.

Keys that 'shipgate run' does not support yet are errors here (rule
shipgate-support), so a clean plan means the workflow can run.

Exit codes: 0 planned, 1 the workflow has errors, 2 bad usage or input.`,
		Example: `  shipgate plan
  shipgate plan -W .github/workflows/ci.yml --event pull_request --eventpath pr.json
  shipgate plan --event workflow_dispatch --input level=debug --json
  shipgate plan -j test    # test and what it needs`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			wf, err := a.loadWorkflow(&f, true, actions.Known)
			if err != nil {
				return err
			}
			ev, err := f.loadEvent()
			if err != nil {
				return err
			}
			out := planOutput{Workflow: wf.Name.Value, File: wf.File, Event: f.event, Ref: ev.Plan.Ref, Jobs: []plannedJob{}}
			if out.Workflow == "" {
				out.Workflow = wf.File
			}
			out.Triggered, out.Reason = plan.Triggered(wf, ev.Plan)
			inputs, ids := plan.Inputs(wf, ev.Plan)
			ctx := planContext(ev, inputs)
			var ds []diag.Diagnostic
			ds = append(ds, ids...)
			if out.Triggered {
				g, pds := plan.Build(wf, ev.Plan, ctx, only)
				ds = append(ds, pds...)
				for _, n := range g.Nodes {
					pj := plannedJob{ID: n.ID, Job: n.JobID, Name: n.Name, Needs: n.Needs, Matrix: n.Matrix, Dynamic: n.Dynamic, If: n.Job.If.Value}
					if pj.Needs == nil {
						pj.Needs = []string{}
					}
					if n.Legs > 1 {
						pj.Leg, pj.Legs = n.Leg+1, n.Legs
					}
					if n.Job.Environment != nil {
						pj.Environment = n.Job.Environment.Name.Value
					}
					if n.Job.Concurrency != nil {
						pj.Concurrency = evalString(n.Job.Concurrency.Group.Value, ctx, n.Matrix)
					}
					out.Jobs = append(out.Jobs, pj)
				}
			}
			if wf.Concurrency != nil {
				out.Concurrency = evalString(wf.Concurrency.Group.Value, ctx, nil)
			}
			if diag.HasErrors(ds) {
				diag.WriteText(a.stderr, ds, nil, isTerminal(a.stderr))
				return failed(fmt.Errorf("the workflow cannot be planned"))
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			return writePlan(a, out)
		},
	}
	f.register(c, true)
	c.Flags().StringArrayVarP(&only, "job", "j", nil, "plan only this `JOB` and what it needs (repeatable)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	return c
}

func evalString(s string, ctx *expr.Context, matrix map[string]any) string {
	c := &expr.Context{Contexts: map[string]any{}}
	for k, v := range ctx.Contexts {
		c.Contexts[k] = v
	}
	if matrix != nil {
		c.Contexts["matrix"] = matrix
	}
	v, err := expr.Interpolate(s, c)
	if err != nil {
		return s
	}
	return v
}

func writePlan(a *app, out planOutput) error {
	fmt.Fprintf(a.stdout, "workflow: %s (%s)\nevent:    %s on %s\n", out.Workflow, out.File, out.Event, orDash(out.Ref))
	if out.Concurrency != "" {
		fmt.Fprintf(a.stdout, "concurrency: %s\n", out.Concurrency)
	}
	if !out.Triggered {
		fmt.Fprintf(a.stdout, "\nnothing runs: %s\n", out.Reason)
		return nil
	}
	fmt.Fprintf(a.stdout, "\n%d job(s) would run:\n", len(out.Jobs))
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tJOB\tNAME\tNEEDS\tNOTES")
	for i, j := range out.Jobs {
		var notes []string
		if j.Legs > 0 {
			notes = append(notes, fmt.Sprintf("matrix %d/%d", j.Leg, j.Legs))
		}
		if j.Dynamic {
			notes = append(notes, "matrix known at run time")
		}
		if j.If != "" {
			notes = append(notes, "if: "+j.If)
		}
		if j.Environment != "" {
			notes = append(notes, "environment: "+j.Environment)
		}
		if j.Concurrency != "" {
			notes = append(notes, "concurrency: "+j.Concurrency)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", i+1, j.Job, j.Name, orDash(strings.Join(j.Needs, ", ")), strings.Join(notes, "; "))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
