package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDeploymentRecords(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		d := db.Deployments()
		t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
		id1, err := d.Start(ctx, Deployment{Env: "production", Version: "1.0.0", Commit: "abc", CommitTime: t0.Add(-time.Hour), Started: t0, ApprovedBy: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		id2, _ := d.Start(ctx, Deployment{Env: "staging", Version: "1.1.0", Started: t0.Add(time.Hour)})
		id3, _ := d.Start(ctx, Deployment{Env: "production", Version: "1.1.0", Previous: "1.0.0", Started: t0.Add(2 * time.Hour)})
		if err := d.Finish(ctx, id3, DeployFailed, "step 10%: analysis failed", true, t0.Add(2*time.Hour+time.Minute), `[{"weight":10}]`); err != nil {
			t.Fatal(err)
		}
		if err := d.Finish(ctx, 999, DeploySucceeded, "", false, t0, ""); !errors.Is(err, ErrNoDeployment) {
			t.Errorf("finish of a missing record: %v", err)
		}
		got, err := d.Get(ctx, id1)
		if err != nil || got.Result != DeployRunning || got.Commit != "abc" || !got.CommitTime.Equal(t0.Add(-time.Hour)) || got.ApprovedBy != "alice" || got.Steps != "[]" {
			t.Errorf("record 1: %+v %v", got, err)
		}
		got, _ = d.Get(ctx, id3)
		if got.Result != DeployFailed || !got.RolledBack || got.Reason != "step 10%: analysis failed" || got.Finished.Sub(got.Started) != time.Minute || got.Steps != `[{"weight":10}]` {
			t.Errorf("record 3: %+v", got)
		}
		prod, _ := d.List(ctx, "production", time.Time{})
		if len(prod) != 2 || prod[0].ID != id1 || prod[1].ID != id3 {
			t.Errorf("production: %+v", prod)
		}
		all, _ := d.List(ctx, "", t0.Add(30*time.Minute))
		if len(all) != 2 || all[0].ID != id2 {
			t.Errorf("since: %+v", all)
		}
		if _, err := d.Start(ctx, Deployment{Env: "x"}); err == nil {
			t.Error("a record without a version was accepted")
		}
		if _, err := d.Get(ctx, 12345); !errors.Is(err, ErrNoDeployment) {
			t.Errorf("get missing: %v", err)
		}
	})
}
