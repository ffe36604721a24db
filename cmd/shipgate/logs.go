package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) logsCmd() *cobra.Command {
	var dir string
	var jobs []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a recorded run's logs (secrets already masked)",
		Long: `Logs prints the stored log of every job of a run, or of the jobs named
with -j (a job ID, which selects all its matrix legs, or a display name).
Logs are stored masked: secrets never reach the store.`,
		Example: `  shipgate logs 12
  shipgate logs 12 -j test
  shipgate logs 12 --json | jq -r 'select(.job == "build") | .text'`,
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
			if _, err := getRun(ctx, runs, id); err != nil {
				return err
			}
			all, err := runs.Jobs(ctx, id)
			if err != nil {
				return err
			}
			matched := map[string]bool{}
			enc := json.NewEncoder(a.stdout)
			for _, j := range all {
				if len(jobs) > 0 {
					ok := false
					for _, want := range jobs {
						if want == j.Key || want == j.Name {
							ok, matched[want] = true, true
						}
					}
					if !ok {
						continue
					}
				}
				lines, err := runs.Logs(ctx, j.ID)
				if err != nil {
					return err
				}
				if !asJSON {
					fmt.Fprintf(a.stdout, "── %s (%s) ──\n", j.Name, j.Status)
				}
				for _, l := range lines {
					if asJSON {
						enc.Encode(map[string]any{"job": j.Key, "name": j.Name, "step": l.Step, "time": l.Time, "text": l.Text})
						continue
					}
					fmt.Fprintf(a.stdout, "%s\n", l.Text)
				}
			}
			for _, want := range jobs {
				if !matched[want] {
					var names []string
					for _, j := range all {
						names = append(names, j.Key)
					}
					return usageError("run %d has no job %q (jobs: %s)", id, want, strings.Join(uniq(names), ", "))
				}
			}
			return nil
		},
	}
	storeFlag(c, &dir)
	c.Flags().StringArrayVarP(&jobs, "job", "j", nil, "only job `ID` or display name (repeatable)")
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per log line")
	return c
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
