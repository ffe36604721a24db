package perf

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/gate"
)

func TestHistoryAsBaseline(t *testing.T) {
	set, err := Parse("data.js", mustRead(t, "testdata/gab-history/data-dir_original_data.js"), "")
	if err != nil {
		t.Fatal(err)
	}
	sr, ok := set.Get(Key{Name: "bench_fib_10", Unit: "ns/iter"})
	if set.Format != "gab-history" || !ok || fmt.Sprint(sr.Values) != "[100]" || sr.Better != LowerIsBetter {
		t.Fatalf("format %s, series %+v", set.Format, sr)
	}
	// A history of 14 commits: only the last 10 (values 104..113) count.
	var b strings.Builder
	b.WriteString("window.BENCHMARK_DATA = {\"entries\": {\"Rust\": [\n")
	for i := range 14 {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"tool": "cargo", "benches": [{"name": "bench_fib_10", "unit": "ns/iter", "value": %d}]}`, 100+i)
	}
	b.WriteString("]}}\n")
	hist, err := Parse("data.js", []byte(b.String()), "")
	if err != nil {
		t.Fatal(err)
	}
	if sr, _ := hist.Get(Key{Name: "bench_fib_10", Unit: "ns/iter"}); len(sr.Values) != HistoryWindow || sr.Values[0] != 104 {
		t.Fatalf("window: %v", sr.Values)
	}
	// Three cargo runs at ~130 ns/iter against that baseline: a regression.
	nw := NewSet()
	for _, v := range []string{"129", "131", "130"} {
		s, err := Parse("cargo.txt", []byte("test bench_fib_10 ... bench:         "+v+" ns/iter (+/- 2)\n"), "")
		if err != nil {
			t.Fatal(err)
		}
		nw.Merge(s)
	}
	if r := Compare(hist, nw, DefaultOptions()).Report(); r.Verdict != gate.Fail {
		t.Fatalf("verdict %s: %s", r.Verdict, r.Reason)
	}
	if _, err := Parse("bad.js", []byte("window.BENCHMARK_DATA = {\n  \"entries\": [,]\n}"), ""); err == nil || !strings.HasPrefix(err.Error(), "bad.js:2:") {
		t.Fatalf("bad history: %v", err)
	}
}
