package store

import (
	"context"
	"testing"
	"time"
)

func TestCoverageHistoryLast(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		h := NewCoverageHistory(db)
		if _, ok, err := h.Last(ctx, "main"); ok || err != nil {
			t.Fatalf("empty: %v %v", ok, err)
		}
		for i, pct := range []float64{70, 75.5} {
			if _, err := h.Record(ctx, CoverageRun{CreatedAt: time.Unix(int64(i), 0), Branch: "main", Unit: "lines", Percent: pct, Modules: map[string]float64{"a": pct}}); err != nil {
				t.Fatal(err)
			}
		}
		h.Record(ctx, CoverageRun{CreatedAt: time.Unix(9, 0), Branch: "feature", Unit: "lines", Percent: 10})
		r, ok, err := h.Last(ctx, "main")
		if err != nil || !ok || r.Percent != 75.5 || r.Modules["a"] != 75.5 || r.Unit != "lines" {
			t.Fatalf("last: %+v %v %v", r, ok, err)
		}
	})
}
