package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shipgate/shipgate/internal/store"
	"github.com/spf13/cobra"
)

// gcResult is what `shipgate gc --json` prints.
type gcResult struct {
	Runs      []int64  `json:"runs_deleted"`
	Artifacts []string `json:"artifacts_deleted"`
	DryRun    bool     `json:"dry_run"`
}

func (a *app) gcCmd() *cobra.Command {
	var dir string
	var keep int
	var olderThan time.Duration
	var dryRun, asJSON bool
	c := &cobra.Command{
		Use:   "gc",
		Short: "Delete expired artifacts and old runs from .shipgate/",
		Long: `Gc applies retention to the store: artifacts past their retention-days are
deleted; runs beyond the newest --keep, or older than --older-than, are
deleted with their jobs, logs and artifacts. Running runs are never touched.`,
		Example: `  shipgate gc
  shipgate gc --keep 50 --older-than 720h
  shipgate gc --dry-run --json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			ctx := context.Background()
			if keep < 0 {
				return usageError("--keep %d: want 0 or more", keep)
			}
			db, runs, err := a.openRunStore(ctx, dir)
			if err != nil {
				return err
			}
			defer db.Close()
			res := gcResult{Runs: []int64{}, Artifacts: []string{}, DryRun: dryRun}
			expired, err := runs.ExpiredArtifacts(ctx, time.Now())
			if err != nil {
				return err
			}
			for _, ar := range expired {
				res.Artifacts = append(res.Artifacts, fmt.Sprintf("%d/%s", ar.RunID, ar.Name))
				if !dryRun {
					os.RemoveAll(ar.Dir)
					runs.DeleteArtifact(ctx, ar.ID)
				}
			}
			list, err := runs.ListRuns(ctx, 0)
			if err != nil {
				return err
			}
			stateDir := filepath.Dir(db.Path())
			for i, r := range list {
				if r.Status == store.StatusRunning {
					continue
				}
				old := olderThan > 0 && time.Since(r.StartedAt) > olderThan
				if (keep > 0 && i >= keep) || old {
					res.Runs = append(res.Runs, r.ID)
					if !dryRun {
						os.RemoveAll(filepath.Join(stateDir, "artifacts", fmt.Sprint(r.ID)))
						if err := runs.DeleteRun(ctx, r.ID); err != nil {
							return err
						}
					}
				}
			}
			if !dryRun {
				db.SQL().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
			}
			if asJSON {
				return writeRunJSON(a.stdout, res)
			}
			verb := "deleted"
			if dryRun {
				verb = "would delete"
			}
			fmt.Fprintf(a.stdout, "%s %d run(s) and %d expired artifact(s)\n", verb, len(res.Runs), len(res.Artifacts))
			return nil
		},
	}
	storeFlag(c, &dir)
	c.Flags().IntVar(&keep, "keep", 100, "keep the newest `N` runs (0: no limit)")
	c.Flags().DurationVar(&olderThan, "older-than", 0, "also delete runs started longer ago than `DURATION` (e.g. 720h)")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "only say what would be deleted")
	c.Flags().BoolVar(&asJSON, "json", false, "print what was deleted as JSON")
	return c
}
