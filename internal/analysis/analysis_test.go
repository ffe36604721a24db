package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestConditions(t *testing.T) {
	cases := []struct {
		cond string
		vals []float64
		want bool
	}{
		{"result < 0.05", []float64{0.01}, true},
		{"result < 0.05", []float64{0.2}, false},
		{"result < 0.05", []float64{0.01, 0.2}, false}, // every sample
		{"result[1] >= 0.2", []float64{0.01, 0.2}, true},
		{"result >= 0.95 && result <= 1", []float64{0.97}, true},
		{"result < 0.1 || result > 10", []float64{11}, true},
		{"!(result == 0)", []float64{0}, false},
		{"0.05 > result", []float64{0.01}, true},
		{"result != 1e-3", []float64{0.001}, false},
	}
	for _, c := range cases {
		cond, err := ParseCondition(c.cond)
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		got, err := cond.Eval(c.vals)
		if err != nil || got != c.want {
			t.Errorf("%s over %v = %v, %v; want %v", c.cond, c.vals, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "result", "result <", "1 < 2", "result < abc", "(result < 1", "result[x] < 1", "result < 1 &&"} {
		if _, err := ParseCondition(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := (mustCond(t, "result[3] < 1")).Eval([]float64{1}); err == nil {
		t.Error("result[3] of one sample evaluated")
	}
}

func mustCond(t *testing.T, s string) *Condition {
	c, err := ParseCondition(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// script is a Querier that answers from a list, one answer per call.
type script struct {
	answers []answer
	n       int
}

type answer struct {
	vals []float64
	err  error
}

func (s *script) Query(ctx context.Context, q string, at time.Time) ([]float64, error) {
	a := s.answers[min(s.n, len(s.answers)-1)]
	s.n++
	return a.vals, a.err
}

func (s *script) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]float64, error) {
	return s.Query(ctx, q, end)
}

func v(x ...float64) answer { return answer{vals: x} }

var instant = Options{Sleep: func(context.Context, time.Duration) error { return nil }}

func spec(t *testing.T, metric string) *Spec {
	t.Helper()
	s, err := Parse("a.yml", []byte("metrics:\n"+metric))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Argo Rollouts' semantics: failureLimit, inconclusiveLimit,
// consecutiveErrorLimit; no data is never a pass.
func TestArgoSemantics(t *testing.T) {
	const m = `  - name: errors
    query: q
    successCondition: result < 0.05
    count: 4
    failureLimit: 1
    inconclusiveLimit: 1
    consecutiveErrorLimit: 2
`
	nan := math.NaN()
	bad := answer{err: fmt.Errorf("%w: parse error", ErrBadQuery)}
	down := answer{err: errors.New("connection refused")}
	cases := []struct {
		name    string
		answers []answer
		want    Verdict
		n       int // measurements taken
	}{
		{"all good", []answer{v(0), v(0.01), v(0.02), v(0)}, Successful, 4},
		{"one failure tolerated", []answer{v(0), v(0.2), v(0), v(0)}, Successful, 4},
		{"second failure fails at once", []answer{v(0.2), v(0), v(0.3), v(0)}, Failed, 3},
		{"empty twice is inconclusive", []answer{v(), v(0), v()}, Inconclusive, 3},
		{"NaN is no data", []answer{v(nan), v(nan)}, Inconclusive, 2},
		{"errors in a row", []answer{down, down, down}, Error, 3},
		{"errors not in a row", []answer{down, v(0), down, v(0)}, Successful, 4},
		{"invalid query stops at once", []answer{bad}, Error, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := &script{answers: c.answers}
			r := spec(t, m).Run(context.Background(), q, instant)
			if r.Verdict != c.want || len(r.Metrics[0].Measurements) != c.n {
				t.Errorf("verdict %s after %d measurements (%s); want %s after %d", r.Verdict, len(r.Metrics[0].Measurements), r.Reason(), c.want, c.n)
			}
		})
	}
}

func TestFailureCondition(t *testing.T) {
	s := spec(t, "  - name: m\n    query: q\n    failureCondition: result > 0.5\n    count: 2\n")
	if r := s.Run(context.Background(), &script{answers: []answer{v(0.1), v(0.4)}}, instant); r.Verdict != Successful {
		t.Errorf("%s", r.Verdict)
	}
	if r := s.Run(context.Background(), &script{answers: []answer{v(0.1), v(0.9)}}, instant); r.Verdict != Failed || !strings.Contains(r.Reason(), "failureCondition") {
		t.Errorf("%s %s", r.Verdict, r.Reason())
	}
}

func TestMannWhitney(t *testing.T) {
	base := []float64{0.01, 0.02, 0.0, 0.01, 0.03, 0.02, 0.01, 0.0, 0.02, 0.01}
	worse := []float64{0.2, 0.22, 0.19, 0.25, 0.18, 0.21, 0.2, 0.23, 0.19, 0.2}
	if c := MannWhitney(worse, base, 0.05); c.P >= 0.001 || c.CanaryMedian <= c.BaselineMedian {
		t.Errorf("clearly worse canary: %+v", c)
	}
	same := []float64{0.02, 0.01, 0.01, 0.0, 0.02, 0.03, 0.01, 0.02, 0.0, 0.01}
	if c := MannWhitney(same, base, 0.05); c.P < 0.05 {
		t.Errorf("same distribution: %+v", c)
	}
	zeros := make([]float64, 10)
	if c := MannWhitney(zeros, zeros, 0.05); c.P != 1 {
		t.Errorf("all ties: %+v", c)
	}

	const m = `  - name: vs-stable
    compare:
      canary: c
      baseline: b
`
	// QueryRange answers canary first, then baseline.
	r := spec(t, m).Run(context.Background(), &script{answers: []answer{v(worse...), v(base...)}}, instant)
	if r.Verdict != Failed || !strings.Contains(r.Reason(), "significantly worse") {
		t.Errorf("worse canary: %s %s", r.Verdict, r.Reason())
	}
	r = spec(t, m).Run(context.Background(), &script{answers: []answer{v(base...), v(worse...)}}, instant)
	if r.Verdict != Successful {
		t.Errorf("better canary (direction increase): %s %s", r.Verdict, r.Reason())
	}
	r = spec(t, m).Run(context.Background(), &script{answers: []answer{v(1, 2), v(base...)}}, instant)
	if r.Verdict != Inconclusive {
		t.Errorf("too few points: %s", r.Verdict)
	}
}

func TestParseErrorsArePositioned(t *testing.T) {
	src := `metrics:
  - name: a
    query: up
    successCondition: result <
  - name: a
    query: ""
    successCondition: result < 1
  - name: c
    compare:
      canary: x
      direction: sideways
`
	_, err := Parse("analysis.yml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"analysis.yml:4:23: condition \"result <\", column 9",
		"analysis.yml:5:11: metric name \"a\" used twice",
		"has no query",
		"compare needs both canary and baseline",
		"direction \"sideways\"",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if _, err := Parse("a.yml", []byte("metrics:\n  - name: x\n    quer: up\n")); err == nil || !strings.Contains(err.Error(), "a.yml:3:") {
		t.Errorf("unknown field: %v", err)
	}
}
