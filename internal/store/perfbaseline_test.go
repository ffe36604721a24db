package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestPerfBaselineSaveReplaceLoad(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		pb := db.PerfBaselines()
		if _, err := pb.Load(ctx, "main"); !errors.Is(err, ErrNoBaseline) {
			t.Fatalf("load of missing baseline: %v", err)
		}
		first := PerfBaseline{Branch: "main", SavedAt: time.Unix(100, 0), Series: []PerfSeries{
			{Name: "A", Unit: "sec/op", Better: -1, Values: []float64{1, 2, 3}},
			{Name: "B", Unit: "B/s", Better: 1, Values: []float64{4}},
		}}
		if err := pb.Save(ctx, first); err != nil {
			t.Fatal(err)
		}
		second := PerfBaseline{Branch: "main", SavedAt: time.Unix(200, 0), Revision: "abc", Series: []PerfSeries{
			{Pkg: "p", Name: "C", Unit: "sec/op", Better: -1, Exact: true, Values: []float64{5, 6}},
		}}
		if err := pb.Save(ctx, second); err != nil {
			t.Fatal(err)
		}
		got, err := pb.Load(ctx, "main")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Series) != 1 || got.Series[0].Name != "C" || !got.Series[0].Exact || !slices.Equal(got.Series[0].Values, []float64{5, 6}) || got.Revision != "abc" || !got.SavedAt.Equal(time.Unix(200, 0)) {
			t.Fatalf("loaded %+v", got)
		}
	})
}
