package store

import (
	"context"
	"testing"
	"time"
)

func TestTestHistoryFlipRate(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		h := NewTestHistory(db)
		// flaky: pass, fail+pass (re-run), pass -> flips: p,f,p,p = 2 flips of 3 transitions.
		runs := [][]TestAttempt{
			{{TestID: "a::flaky", Attempt: 1, Result: "passed"}, {TestID: "a::stable", Attempt: 1, Result: "passed"}},
			{{TestID: "a::flaky", Attempt: 1, Result: "failure"}, {TestID: "a::flaky", Attempt: 2, Result: "passed"}, {TestID: "a::stable", Attempt: 1, Result: "passed"}},
			{{TestID: "a::flaky", Attempt: 1, Result: "passed"}, {TestID: "a::stable", Attempt: 1, Result: "passed"}, {TestID: "a::skip", Attempt: 1, Result: "skipped"}},
		}
		for i, r := range runs {
			if _, err := h.Record(ctx, TestRun{StartedAt: time.Unix(int64(i), 0), Commit: "c", Branch: "main", Mode: "rerun-failures"}, r); err != nil {
				t.Fatal(err)
			}
		}
		st, err := h.Stats(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := st["a::flaky"]
		if f.Runs != 3 || f.Attempts != 4 || f.Fails != 1 || f.Flips != 2 || f.FlipRate() != 2.0/3 {
			t.Fatalf("flaky: %+v rate %v", f, f.FlipRate())
		}
		if s := st["a::stable"]; s.Flips != 0 || s.FlipRate() != 0 || s.Runs != 3 {
			t.Fatalf("stable: %+v", s)
		}
		// Only the last run: the flaky test looks clean there.
		last, _ := h.Stats(ctx, 1)
		if last["a::flaky"].Flips != 0 || last["a::flaky"].Runs != 1 {
			t.Fatalf("last run: %+v", last["a::flaky"])
		}
		known, _ := h.Known(ctx, []string{"a::flaky", "b::new"})
		if !known["a::flaky"] || known["b::new"] {
			t.Fatalf("known: %v", known)
		}
		if n, _ := h.RunCount(ctx); n != 3 {
			t.Fatalf("runs %d", n)
		}
	})
}
