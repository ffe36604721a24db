package perf

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
)

func sample(rng *rand.Rand, n int, mean, noisePct float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = mean * (1 + noisePct/100*rng.NormFloat64())
	}
	return v
}

func setOf(unit string, better Better, vals []float64) *Set {
	s := NewSet()
	for _, v := range vals {
		s.Add(Key{Name: "X", Unit: unit}, v, better, diag.Pos{File: "new.txt", Line: 1})
	}
	return s
}

func TestVerdictNeedsSignificanceAndThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name   string
		unit   string
		better Better
		shift  float64 // percent change of the new mean
		n      int
		want   gate.Verdict
		status Status
	}{
		{"10% slower fails", "sec/op", LowerIsBetter, 10, 10, gate.Fail, Regression},
		{"10% faster passes", "sec/op", LowerIsBetter, -10, 10, gate.Pass, Improvement},
		{"3% slower is within threshold", "sec/op", LowerIsBetter, 3, 10, gate.Pass, MinorRegression},
		{"throughput down 10% fails", "B/s", HigherIsBetter, -10, 10, gate.Fail, Regression},
		{"throughput up 10% passes", "B/s", HigherIsBetter, 10, 10, gate.Pass, Improvement},
		{"30% slower with 3 samples is inconclusive", "sec/op", LowerIsBetter, 30, 3, gate.Inconclusive, Inconclusive},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := setOf(c.unit, c.better, sample(rng, c.n, 100, 0.5))
			nw := setOf(c.unit, c.better, sample(rng, c.n, 100*(1+c.shift/100), 0.5))
			cmp := Compare(base, nw, DefaultOptions())
			r := cmp.Report()
			if r.Verdict != c.want || cmp.Rows[0].Status != c.status {
				t.Fatalf("verdict %s status %s, want %s %s (%s)", r.Verdict, cmp.Rows[0].Status, c.want, c.status, r.Reason)
			}
			if c.want == gate.Fail && (len(r.Findings) != 1 || r.Findings[0].Pos.File != "new.txt") {
				t.Errorf("findings %v", r.Findings)
			}
		})
	}
}

// TestSimulation measures the gate by simulation (numbers go to the note):
// the false-positive rate over 200 A/A comparisons and the detection rate
// of a 5% regression under 2% noise, count 10 on each side.
func TestSimulation(t *testing.T) {
	const trials, count, noise = 200, 10, 2.0
	rng := rand.New(rand.NewPCG(42, 4242))
	run := func(shift, threshold float64) (significantWorse, failed int) {
		o := DefaultOptions()
		o.Threshold = threshold
		for range trials {
			base := setOf("sec/op", LowerIsBetter, sample(rng, count, 100, noise))
			nw := setOf("sec/op", LowerIsBetter, sample(rng, count, 100*(1+shift/100), noise))
			c := Compare(base, nw, o)
			row := c.Rows[0]
			if row.P <= o.Alpha && row.New.Center > row.Base.Center {
				significantWorse++
			}
			if c.Report().Verdict == gate.Fail {
				failed++
			}
		}
		return
	}
	pct := func(n int) float64 { return 100 * float64(n) / trials }
	var aaSig, aaSigAny int
	{
		rng2 := rand.New(rand.NewPCG(7, 77))
		for range trials {
			c := Compare(setOf("sec/op", LowerIsBetter, sample(rng2, count, 100, noise)), setOf("sec/op", LowerIsBetter, sample(rng2, count, 100, noise)), DefaultOptions())
			if c.Rows[0].P <= 0.05 {
				aaSigAny++
			}
		}
	}
	aaSig, aaFail := run(0, 5)
	detSig, detFail5 := run(5, 5)
	_, detFail3 := run(5, 3)
	_, detFail0 := run(5, 0)
	var b strings.Builder
	fmt.Fprintf(&b, "A/A (%d trials, n=%d, %.0f%% noise): significant either way %.1f%%, significant and worse %.1f%%, gate failed %.1f%% (threshold 5%%)\n", trials, count, noise, pct(aaSigAny), pct(aaSig), pct(aaFail))
	fmt.Fprintf(&b, "5%% regression: significant and worse %.1f%%; gate failed %.1f%% at threshold 5%%, %.1f%% at 3%%, %.1f%% at 0%%", pct(detSig), pct(detFail5), pct(detFail3), pct(detFail0))
	t.Log(b.String())
	if pct(aaFail) > 5 || pct(aaSigAny) > 5 {
		t.Errorf("false-positive rate above 5%%")
	}
	if pct(detSig) < 95 {
		t.Errorf("a 5%% regression under 2%% noise is detected in only %.1f%% of trials", pct(detSig))
	}
}

// TestWriteGoRoundTrip: what perf run --out writes reads back as the same
// series and values, and benchstat-compatible units stay tidied.
func TestWriteGoRoundTrip(t *testing.T) {
	set, err := Parse("old.txt", mustRead(t, "testdata/benchstat/crc-old.txt"), "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	set.WriteGo(&b)
	again, err := Parse("again.txt", []byte(b.String()), "")
	if err != nil {
		t.Fatal(err)
	}
	if again.Len() != set.Len() || again.Samples() != set.Samples() {
		t.Fatalf("%d/%d series, %d/%d samples", again.Len(), set.Len(), again.Samples(), set.Samples())
	}
	for _, sr := range set.Series() {
		got, ok := again.Get(sr.Key)
		if !ok || fmt.Sprint(got.Values) != fmt.Sprint(sr.Values) || got.Better != sr.Better {
			t.Fatalf("%s: %v vs %v", sr.Key, got, sr)
		}
	}
}
