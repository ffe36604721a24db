package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/shipgate/shipgate/internal/plan"
	"github.com/shipgate/shipgate/internal/workflow"
	"github.com/spf13/cobra"
)

func (a *app) graphCmd() *cobra.Command {
	var f workflowFlags
	var format string
	c := &cobra.Command{
		Use:   "graph",
		Short: "Draw a workflow's job graph as text, Graphviz dot, Mermaid or JSON",
		Long: `Graph prints the jobs of a workflow and the needs between them, in
dependency order. Matrix jobs are one node each, with their axes.

Exit codes: 0 drawn, 1 the workflow has errors (a needs cycle, say), 2 bad
usage or input.`,
		Example: `  shipgate graph
  shipgate graph -W .github/workflows/ci.yml --format dot | dot -Tsvg > jobs.svg
  shipgate graph --format mermaid >> README.md`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			// The graph is drawn for any valid workflow, runnable or not.
			wf, err := a.loadWorkflow(&f, false, nil)
			if err != nil {
				return err
			}
			order, ds := plan.Order(wf)
			if len(ds) > 0 {
				return a.failWith(ds)
			}
			switch format {
			case "text":
				return graphText(a.stdout, wf, order)
			case "dot":
				return graphDot(a.stdout, wf, order)
			case "mermaid":
				return graphMermaid(a.stdout, wf, order)
			case "json":
				return graphJSON(a.stdout, wf, order)
			}
			return usageError("unknown --format %q (want text, dot, mermaid or json)", format)
		},
	}
	f.register(c, false)
	c.Flags().StringVar(&format, "format", "text", "output format: text, dot, mermaid, json")
	return c
}

func needsOf(j *workflow.Job) []string {
	out := make([]string, len(j.Needs))
	for i, n := range j.Needs {
		out[i] = n.Value
	}
	return out
}

func matrixAxes(j *workflow.Job) string {
	if j.Strategy == nil || j.Strategy.Matrix == nil {
		return ""
	}
	m := j.Strategy.Matrix
	if m.Expr.Set {
		return "matrix: " + m.Expr.Value
	}
	var axes []string
	for _, r := range m.Rows {
		if r.Expr.Set {
			axes = append(axes, r.Name+"="+r.Expr.Value)
		} else {
			axes = append(axes, fmt.Sprintf("%s×%d", r.Name, len(r.Values)))
		}
	}
	if len(m.Include) > 0 || m.IncludeExpr.Set {
		axes = append(axes, "+include")
	}
	if len(m.Exclude) > 0 || m.ExcludeExpr.Set {
		axes = append(axes, "-exclude")
	}
	return "matrix: " + strings.Join(axes, ", ")
}

func graphText(w io.Writer, wf *workflow.Workflow, order []string) error {
	for _, id := range order {
		j := wf.Job(id)
		line := id
		if needs := needsOf(j); len(needs) > 0 {
			line += "  <- " + strings.Join(needs, ", ")
		}
		if m := matrixAxes(j); m != "" {
			line += "  [" + m + "]"
		}
		fmt.Fprintln(w, line)
	}
	return nil
}

func dotQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func graphDot(w io.Writer, wf *workflow.Workflow, order []string) error {
	fmt.Fprintf(w, "digraph %s {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", dotQuote(orDefault(wf.Name.Value, wf.File)))
	for _, id := range order {
		j := wf.Job(id)
		label := id
		if m := matrixAxes(j); m != "" {
			label += "\\n" + m
		}
		fmt.Fprintf(w, "  %s [label=%s];\n", dotQuote(id), dotQuote(label))
	}
	for _, id := range order {
		for _, n := range needsOf(wf.Job(id)) {
			fmt.Fprintf(w, "  %s -> %s;\n", dotQuote(n), dotQuote(id))
		}
	}
	_, err := fmt.Fprintln(w, "}")
	return err
}

func mermaidID(s string) string {
	return "j_" + strings.NewReplacer("-", "_", ".", "_").Replace(s)
}

func graphMermaid(w io.Writer, wf *workflow.Workflow, order []string) error {
	fmt.Fprintln(w, "flowchart LR")
	for _, id := range order {
		label := id
		if m := matrixAxes(wf.Job(id)); m != "" {
			label += "<br/>" + m
		}
		fmt.Fprintf(w, "  %s[\"%s\"]\n", mermaidID(id), strings.ReplaceAll(label, `"`, "#quot;"))
	}
	for _, id := range order {
		for _, n := range needsOf(wf.Job(id)) {
			fmt.Fprintf(w, "  %s --> %s\n", mermaidID(n), mermaidID(id))
		}
	}
	return nil
}

func graphJSON(w io.Writer, wf *workflow.Workflow, order []string) error {
	type node struct {
		ID     string   `json:"id"`
		Name   string   `json:"name"`
		Needs  []string `json:"needs"`
		Matrix string   `json:"matrix,omitempty"`
		Line   int      `json:"line"`
	}
	var nodes []node
	for _, id := range order {
		j := wf.Job(id)
		nodes = append(nodes, node{ID: id, Name: orDefault(j.Name.Value, id), Needs: needsOf(j), Matrix: strings.TrimPrefix(matrixAxes(j), "matrix: "), Line: j.Pos.Line})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"workflow": orDefault(wf.Name.Value, wf.File), "file": wf.File, "jobs": nodes})
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
