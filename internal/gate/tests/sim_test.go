package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/store"
)

// simSuite is a generated suite: 175 stable tests, 5 broken ones that
// always fail, and 20 flaky ones with failure probabilities 0.05 to 0.5.
type simSuite struct {
	names []string
	pFail []float64 // 0 stable, 1 broken, in between flaky
}

func newSimSuite() *simSuite {
	s := &simSuite{}
	for i := 0; i < 200; i++ {
		p := 0.0
		switch {
		case i < 20:
			p = 0.05 + float64(i)*0.45/19
		case i < 25:
			p = 1
		}
		s.names = append(s.names, fmt.Sprintf("Test%03d", i))
		s.pFail = append(s.pFail, p)
	}
	return s
}

func (s *simSuite) isFlaky(id string) bool {
	var i int
	fmt.Sscanf(strings.TrimPrefix(id, "sim::Test"), "%d", &i)
	return s.pFail[i] > 0 && s.pFail[i] < 1
}

// simRunner runs the suite with a seeded random source; it can select.
type simRunner struct {
	s   *simSuite
	rng *rand.Rand
}

func (r *simRunner) CanSelect() bool      { return true }
func (r *simRunner) SelectReason() string { return "" }

func (r *simRunner) Run(_ context.Context, _ int, only []Case) (*Report, error) {
	want := map[string]bool{}
	for _, c := range only {
		want[c.Name] = true
	}
	rep := &Report{Files: 1, Suites: 1}
	for i, n := range r.s.names {
		if only != nil && !want[n] {
			continue
		}
		res := Passed
		if r.rng.Float64() < r.s.pFail[i] {
			res = Failed
		}
		rep.Cases = append(rep.Cases, Case{File: "sim", Class: "sim", Name: n, Result: res})
	}
	return rep, nil
}

type simStats struct {
	recall, fp, cost float64 // means over trials; cost relative to N full runs
}

func simulate(t *testing.T, mode Mode, runs, trials int, seed uint64) simStats {
	t.Helper()
	s := newSimSuite()
	var st simStats
	for trial := 0; trial < trials; trial++ {
		r := &simRunner{s: s, rng: rand.New(rand.NewPCG(seed, uint64(trial)))}
		res, err := Detect(context.Background(), r, FlakyOptions{Runs: runs, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		tp, fp := 0, 0
		for _, o := range res.Tests {
			if o.Class != FlakyTest {
				continue
			}
			if s.isFlaky(o.ID) {
				tp++
			} else {
				fp++
			}
		}
		st.recall += float64(tp) / 20
		st.fp += float64(fp)
		st.cost += float64(res.Executions) / float64(200*runs)
	}
	n := float64(trials)
	return simStats{st.recall / n, st.fp / n, st.cost / n}
}

// TestFlakySimulation measures detection on a generated suite of 200 tests
// with 20 seeded flaky ones (failure probability 0.05 to 0.5) and 5 broken
// ones: recall and false positives for --runs 3, 5 and 10 in full and
// re-run-failures modes (with the cost in test executions relative to N
// full runs), and recall from the history across 20 CI runs. Fixed seeds:
// the numbers are the same every time (they are in the issue-4 note).
func TestFlakySimulation(t *testing.T) {
	const trials = 200
	for _, runs := range []int{3, 5, 10} {
		full := simulate(t, ModeFull, runs, trials, 42)
		rerun := simulate(t, ModeRerunFailures, runs, trials, 42)
		t.Logf("runs=%-2d full:  recall %.3f  false positives %.2f  cost 100%%", runs, full.recall, full.fp)
		t.Logf("runs=%-2d rerun: recall %.3f  false positives %.2f  cost %.1f%% of %d full runs", runs, rerun.recall, rerun.fp, rerun.cost*100, runs)
		if full.fp != 0 || rerun.fp != 0 {
			t.Errorf("runs=%d: false positives (broken tests must be stable fail)", runs)
		}
		// Analytical recall: full 1-(1-p)^N-p^N, re-run p(1-p^(N-1)),
		// averaged over the 20 failure probabilities.
		var aFull, aRerun float64
		s := newSimSuite()
		for i := 0; i < 20; i++ {
			p := s.pFail[i]
			aFull += (1 - pow(1-p, runs) - pow(p, runs)) / 20
			aRerun += p * (1 - pow(p, runs-1)) / 20
		}
		if d := full.recall - aFull; d > 0.03 || d < -0.03 {
			t.Errorf("runs=%d full recall %.3f, analytical %.3f", runs, full.recall, aFull)
		}
		if d := rerun.recall - aRerun; d > 0.03 || d < -0.03 {
			t.Errorf("runs=%d rerun recall %.3f, analytical %.3f", runs, rerun.recall, aRerun)
		}
		if rerun.cost > 0.5 {
			t.Errorf("runs=%d: re-run mode cost %.2f of full runs", runs, rerun.cost)
		}
	}
}

// TestFlakyHistorySimulation runs the default mode (re-run failures, 5
// attempts) in 20 CI runs, recording each in a real store, and counts the
// flaky tests the history exposes: flip rate > 0 over the 20 runs.
func TestFlakyHistorySimulation(t *testing.T) {
	ctx := context.Background()
	const trials, ciRuns = 5, 20
	s := newSimSuite()
	var recall, fp, perRun, cost float64
	for trial := 0; trial < trials; trial++ {
		db, err := store.Open(ctx, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		h := store.NewTestHistory(db)
		r := &simRunner{s: s, rng: rand.New(rand.NewPCG(7, uint64(trial)))}
		for ci := 0; ci < ciRuns; ci++ {
			res, err := Detect(ctx, r, FlakyOptions{Runs: 5})
			if err != nil {
				t.Fatal(err)
			}
			var atts []store.TestAttempt
			for i, rep := range res.PerAttempt {
				for _, c := range rep.Cases {
					atts = append(atts, store.TestAttempt{TestID: c.ID(), Attempt: i + 1, Result: string(c.Result)})
				}
			}
			if _, err := h.Record(ctx, store.TestRun{StartedAt: time.Unix(int64(ci), 0), Mode: string(res.Mode)}, atts); err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Tests {
				if o.Class == FlakyTest && s.isFlaky(o.ID) {
					perRun += 1.0 / 20 / ciRuns / trials
				}
			}
			cost += float64(res.Executions) / float64(200*5) / ciRuns / trials
		}
		stats, err := h.Stats(ctx, ciRuns)
		if err != nil {
			t.Fatal(err)
		}
		for id, st := range stats {
			if st.FlipRate() == 0 {
				continue
			}
			if s.isFlaky(id) {
				recall += 1.0 / 20 / trials
			} else {
				fp += 1.0 / trials
			}
		}
		db.Close()
	}
	t.Logf("history over %d CI runs (re-run mode, runs=5): recall %.3f, false positives %.2f; a single CI run finds %.3f; cost %.1f%% of 5 full runs per CI run", ciRuns, recall, fp, perRun, cost*100)
	if fp != 0 || recall < 0.85 || recall <= perRun {
		t.Errorf("history recall %.3f (single run %.3f), fp %.2f", recall, perRun, fp)
	}
}

func pow(x float64, n int) float64 {
	r := 1.0
	for i := 0; i < n; i++ {
		r *= x
	}
	return r
}
