package analysis

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"golang.org/x/perf/benchmath"
)

// compare runs one Mann–Whitney U test of the canary's values against the
// baseline's over the window ending now.
func (m *Metric) compare(ctx context.Context, q Querier, o *Options) (Measurement, *Comparison) {
	c := m.Compare
	meas := Measurement{At: o.now()}
	start := meas.At.Add(-time.Duration(c.Window))
	canary, err := q.QueryRange(ctx, o.Vars.expand(c.Canary), start, meas.At, time.Duration(c.Step))
	if err != nil {
		meas.Verdict, meas.Message = Error, "canary: "+err.Error()
		return meas, nil
	}
	baseline, err := q.QueryRange(ctx, o.Vars.expand(c.Baseline), start, meas.At, time.Duration(c.Step))
	if err != nil {
		meas.Verdict, meas.Message = Error, "baseline: "+err.Error()
		return meas, nil
	}
	canary, baseline = finite(canary), finite(baseline)
	if len(canary) < c.MinSamples || len(baseline) < c.MinSamples {
		meas.Verdict = Inconclusive
		meas.Message = fmt.Sprintf("no data: %d canary and %d baseline points (need %d each)", len(canary), len(baseline), c.MinSamples)
		return meas, nil
	}
	cmp := MannWhitney(canary, baseline, c.Alpha)
	meas.Values = []float64{cmp.CanaryMedian, cmp.BaselineMedian, cmp.P}
	worse := false
	if cmp.P < c.Alpha {
		switch c.Direction {
		case "increase":
			worse = cmp.CanaryMedian > cmp.BaselineMedian || (cmp.CanaryMedian == cmp.BaselineMedian && mean(canary) > mean(baseline))
		case "decrease":
			worse = cmp.CanaryMedian < cmp.BaselineMedian || (cmp.CanaryMedian == cmp.BaselineMedian && mean(canary) < mean(baseline))
		default:
			worse = true
		}
	}
	desc := fmt.Sprintf("canary median %.4g vs baseline %.4g, p=%.3g (alpha %.3g, n=%d+%d)",
		cmp.CanaryMedian, cmp.BaselineMedian, cmp.P, c.Alpha, cmp.CanaryN, cmp.BaselineN)
	if worse {
		meas.Verdict, meas.Message = Failed, "canary significantly worse: "+desc
	} else {
		meas.Verdict, meas.Message = Successful, desc
	}
	return meas, &cmp
}

// MannWhitney compares two samples with a two-sided Mann–Whitney U test
// (x/perf's benchmath, as benchstat uses). A test that cannot be computed
// (e.g. every value tied) has P = 1: no evidence of a difference.
func MannWhitney(canary, baseline []float64, alpha float64) Comparison {
	th := benchmath.DefaultThresholds
	th.CompareAlpha = alpha
	a := benchmath.NewSample(append([]float64(nil), canary...), &th)
	b := benchmath.NewSample(append([]float64(nil), baseline...), &th)
	r := benchmath.AssumeNothing.Compare(a, b)
	return Comparison{P: r.P, Alpha: alpha, CanaryN: len(canary), BaselineN: len(baseline),
		CanaryMedian: median(canary), BaselineMedian: median(baseline)}
}

func finite(xs []float64) []float64 {
	out := xs[:0:0]
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mean(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}
