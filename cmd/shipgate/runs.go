package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/shipgate/shipgate/internal/store"
	"github.com/spf13/cobra"
)

// storeFlag is --store on the commands that read runs.
func storeFlag(c *cobra.Command, dir *string) {
	c.Flags().StringVar(dir, "store", "", "store `DIR` (default: .shipgate in the repository)")
}

func (a *app) openRunStore(ctx context.Context, dir string) (*store.DB, *store.Runs, error) {
	if dir == "" {
		dir = filepath.Join(repoRoot(), store.DefaultDir)
	}
	return a.openRuns(ctx, dir)
}

func parseRunID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError("run ID %q: want a positive number (see 'shipgate runs')", s)
	}
	return id, nil
}

func getRun(ctx context.Context, runs *store.Runs, id int64) (*store.Run, error) {
	run, err := runs.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, usageError("no run %d in the store (see 'shipgate runs')", id)
	}
	return run, err
}

func (a *app) runsCmd() *cobra.Command {
	var dir string
	var asJSON bool
	var limit int
	c := &cobra.Command{
		Use:   "runs",
		Short: "List recorded workflow runs, newest first",
		Long: `Runs lists the workflow runs recorded in .shipgate/, newest first, with
their status (success, failure, cancelled, running, interrupted), event and
duration. A run whose process died (SIGKILL, a crash) is marked interrupted
by the next shipgate command that opens the store.`,
		Example: `  shipgate runs
  shipgate runs -n 5 --json
  shipgate runs show 12`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			ctx := context.Background()
			db, runs, err := a.openRunStore(ctx, dir)
			if err != nil {
				return err
			}
			defer db.Close()
			list, err := runs.ListRuns(ctx, limit)
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []*store.Run{}
				}
				return writeRunJSON(a.stdout, list)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tWORKFLOW\tEVENT\tSTARTED\tTIME")
			for _, r := range list {
				el := "-"
				if r.FinishedAt != nil {
					el = dur(r.FinishedAt.Sub(r.StartedAt))
				}
				name := r.WorkflowName
				if name == "" {
					name = r.Workflow
				}
				fmt.Fprintf(tw, "%d\t%s %s\t%s\t%s\t%s\t%s\n", r.ID, statusMark[r.Status], r.Status, name, r.Event, r.StartedAt.Local().Format("2006-01-02 15:04:05"), el)
			}
			return tw.Flush()
		},
	}
	storeFlag(c, &dir)
	c.Flags().BoolVar(&asJSON, "json", false, "print the runs as JSON")
	c.Flags().IntVarP(&limit, "limit", "n", 20, "show at most `N` runs (0: all)")
	c.AddCommand(a.runsShowCmd())
	return c
}

// runDetail is `shipgate runs show --json`.
type runDetail struct {
	*store.Run
	Jobs        []jobDetail         `json:"jobs"`
	Annotations []*store.Annotation `json:"annotations"`
	Artifacts   []*store.Artifact   `json:"artifacts"`
	Summaries   []*store.Summary    `json:"summaries"`
}

type jobDetail struct {
	*store.Job
	Steps []*store.Step `json:"steps"`
}

func loadDetail(ctx context.Context, runs *store.Runs, run *store.Run) (*runDetail, error) {
	d := &runDetail{Run: run, Jobs: []jobDetail{}}
	jobs, err := runs.Jobs(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		steps, err := runs.Steps(ctx, j.ID)
		if err != nil {
			return nil, err
		}
		if steps == nil {
			steps = []*store.Step{}
		}
		d.Jobs = append(d.Jobs, jobDetail{Job: j, Steps: steps})
	}
	if d.Annotations, err = runs.Annotations(ctx, run.ID); err != nil {
		return nil, err
	}
	if d.Artifacts, err = runs.Artifacts(ctx, run.ID); err != nil {
		return nil, err
	}
	if d.Summaries, err = runs.Summaries(ctx, run.ID); err != nil {
		return nil, err
	}
	// Empty lists, not null, in --json.
	if d.Annotations == nil {
		d.Annotations = []*store.Annotation{}
	}
	if d.Artifacts == nil {
		d.Artifacts = []*store.Artifact{}
	}
	if d.Summaries == nil {
		d.Summaries = []*store.Summary{}
	}
	return d, nil
}

func (a *app) runsShowCmd() *cobra.Command {
	var dir string
	var asJSON bool
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Show one run: jobs, steps, annotations, artifacts, summaries",
		Example: `  shipgate runs show 12
  shipgate runs show 12 --json | jq '.jobs[] | {name, status}'`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := context.Background()
			id, err := parseRunID(args[0])
			if err != nil {
				return err
			}
			db, runs, err := a.openRunStore(ctx, dir)
			if err != nil {
				return err
			}
			defer db.Close()
			run, err := getRun(ctx, runs, id)
			if err != nil {
				return err
			}
			d, err := loadDetail(ctx, runs, run)
			if err != nil {
				return err
			}
			if asJSON {
				return writeRunJSON(a.stdout, d)
			}
			fmt.Fprintf(a.stdout, "run %d  %s %s  %s (%s)  event %s  ref %s\n", run.ID, statusMark[run.Status], run.Status, run.WorkflowName, run.Workflow, run.Event, run.Ref)
			if run.RerunOf != 0 {
				fmt.Fprintf(a.stdout, "rerun of run %d\n", run.RerunOf)
			}
			for _, j := range d.Jobs {
				fmt.Fprintf(a.stdout, "\n%s %s  %s%s\n", statusMark[j.Status], j.Name, j.Status, elapsed(j.StartedAt, j.FinishedAt))
				for _, s := range j.Steps {
					fmt.Fprintf(a.stdout, "    %s %s  %s%s\n", statusMark[s.Conclusion], s.Name, s.Outcome, elapsed(s.StartedAt, s.FinishedAt))
				}
				for _, k := range sortedKeys(j.Outputs) {
					fmt.Fprintf(a.stdout, "    output %s=%s\n", k, j.Outputs[k])
				}
			}
			if len(d.Annotations) > 0 {
				fmt.Fprintln(a.stdout, "\nannotations:")
				for _, an := range d.Annotations {
					where := ""
					if an.File != "" {
						where = fmt.Sprintf(" %s:%d:%d", an.File, an.Line, an.Col)
					}
					fmt.Fprintf(a.stdout, "  %s [%s]%s %s\n", an.Level, an.Job, where, an.Message)
				}
			}
			if len(d.Artifacts) > 0 {
				fmt.Fprintln(a.stdout, "\nartifacts:")
				for _, ar := range d.Artifacts {
					fmt.Fprintf(a.stdout, "  %s  %d file(s), %d bytes  %s\n", ar.Name, ar.Files, ar.Bytes, ar.Dir)
				}
			}
			return nil
		},
	}
	storeFlag(c, &dir)
	c.Flags().BoolVar(&asJSON, "json", false, "print the run as JSON")
	return c
}

func elapsed(a, b *time.Time) string {
	if a == nil || b == nil {
		return ""
	}
	return "  " + dur(b.Sub(*a))
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sorted(out)
}

func writeRunJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
