package tests

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Mode is how `tests flaky` repeats a test command.
type Mode string

const (
	// ModeRerunFailures runs the suite once, then re-runs only the tests
	// that failed, up to Runs-1 more times each, stopping a test as soon as
	// it passes (it is then flaky). The default: it costs one suite run
	// plus a few test executions.
	ModeRerunFailures Mode = "rerun-failures"
	// ModeFull runs the whole suite Runs times.
	ModeFull Mode = "full"
)

// Runner executes a test command and reports its results.
type Runner interface {
	// Run executes attempt number `attempt` (1-based): the whole suite when
	// only is nil, else just those tests.
	Run(ctx context.Context, attempt int, only []Case) (*Report, error)
	// CanSelect says whether Run can run a subset; when it cannot, re-run
	// mode falls back to full runs, and SelectReason says why.
	CanSelect() bool
	SelectReason() string
}

// Class is a test's classification over the runs of one `tests flaky`.
type Class string

const (
	// StablePass: passed on every attempt.
	StablePass Class = "stable pass"
	// StableFail: failed on every attempt.
	StableFail Class = "stable fail"
	// FlakyTest: passed and failed on the same code.
	FlakyTest Class = "flaky"
	// NewTest: passed, and never seen in the history before.
	NewTest Class = "new"
	// SkippedTest: skipped on every attempt.
	SkippedTest Class = "skipped"
)

// Outcome is one test's results across the attempts.
type Outcome struct {
	ID      string   `json:"id"`
	Class   Class    `json:"class"`
	Results []Result `json:"results"`
	Message string   `json:"message,omitempty"`
	// FlipRate is the share of pass<->fail changes between consecutive
	// executions in the stored history (including this run), when known.
	FlipRate *float64 `json:"flip_rate,omitempty"`
	// HistoryRuns is how many stored runs executed the test.
	HistoryRuns int `json:"history_runs,omitempty"`
	// Quarantined is set when a quarantine entry covers the test.
	Quarantined bool `json:"quarantined,omitempty"`
	last        Case
	// failed is the latest failing case (its position locates findings).
	failed *Case
}

// where is the case whose position findings use: the latest failure when
// there is one, else the latest case.
func (o *Outcome) where() Case {
	if o.failed != nil {
		return *o.failed
	}
	return o.last
}

// FlakyOptions configure Detect.
type FlakyOptions struct {
	// Runs is N: the suite runs N times in full mode; in re-run mode a
	// failed test runs at most N times in all. Default 5.
	Runs int
	// Mode defaults to ModeRerunFailures.
	Mode Mode
	// Known, when set, says which test IDs the history has seen (so the
	// rest are new).
	Known func(ids []string) (map[string]bool, error)
}

// FlakyResult is what Detect found.
type FlakyResult struct {
	// Mode is the mode that ran; ModeNote says why when it differs from
	// the one asked for.
	Mode     Mode   `json:"mode"`
	ModeNote string `json:"mode_note,omitempty"`
	// Attempts is how many times the command ran.
	Attempts int `json:"attempts"`
	// Executions counts test executions over all attempts; FullCost is
	// what N full runs would have cost (N x tests in the first run).
	Executions int        `json:"executions"`
	FullCost   int        `json:"full_cost"`
	Tests      []*Outcome `json:"tests"`
	// Attempt lists, per attempt, the results read (for the history).
	PerAttempt []*Report `json:"-"`
}

// Count returns how many tests fall in each class.
func (r *FlakyResult) Count() map[Class]int {
	out := map[Class]int{}
	for _, t := range r.Tests {
		out[t.Class]++
	}
	return out
}

// ErrNoResults is returned when the first run produced no test results.
var ErrNoResults = errors.New("the test command produced no test results")

// Detect runs the command through r and classifies every test.
func Detect(ctx context.Context, r Runner, opt FlakyOptions) (*FlakyResult, error) {
	if opt.Runs <= 0 {
		opt.Runs = 5
	}
	if opt.Mode == "" {
		opt.Mode = ModeRerunFailures
	}
	res := &FlakyResult{Mode: opt.Mode}
	if opt.Mode == ModeRerunFailures && !r.CanSelect() {
		res.Mode = ModeFull
		res.ModeNote = "re-running only failed tests is not possible here (" + r.SelectReason() + "): ran the full suite each time"
	}
	byID := map[string]*Outcome{}
	var order []string
	record := func(rep *Report) {
		res.PerAttempt = append(res.PerAttempt, rep)
		res.Executions += len(rep.Cases)
		// Several cases of one test in one attempt (a runner's own
		// re-runs) merge into one result per attempt.
		seen := map[string]int{}
		for _, c := range rep.Cases {
			id := c.ID()
			o, ok := byID[id]
			if !ok {
				o = &Outcome{ID: id}
				byID[id] = o
				order = append(order, id)
			}
			o.last = c
			if c.Result.Bad() {
				fc := c
				o.failed = &fc
			}
			if i, dup := seen[id]; dup {
				prev := o.Results[i]
				if c.Result.Bad() != prev.Bad() && c.Result != Skipped && prev != Skipped {
					// Failed and passed within one attempt: flaky.
					o.Results = append(o.Results, c.Result)
					continue
				}
				if aggRank(c.Result) > aggRank(prev) {
					o.Results[i] = c.Result
				}
				continue
			}
			seen[id] = len(o.Results)
			o.Results = append(o.Results, c.Result)
			if c.Flaky {
				// The runner re-ran it and it failed first.
				o.Results = append(o.Results, Failed)
			}
			if c.Result.Bad() && c.Message != "" {
				o.Message = firstLine(c.Message)
			}
		}
	}
	first, err := r.Run(ctx, 1, nil)
	if err != nil {
		return nil, err
	}
	if len(first.Cases) == 0 && first.Declared.Tests == 0 {
		return nil, ErrNoResults
	}
	res.Attempts = 1
	record(first)
	res.FullCost = len(first.Cases) * opt.Runs
	for attempt := 2; attempt <= opt.Runs; attempt++ {
		var only []Case
		if res.Mode == ModeRerunFailures {
			for _, id := range order {
				o := byID[id]
				if isFlaky(o.Results) || !o.Results[len(o.Results)-1].Bad() {
					continue
				}
				// Still failing on every attempt so far: try again.
				if allBad(o.Results) {
					only = append(only, o.last)
				}
			}
			if len(only) == 0 {
				break
			}
		}
		rep, err := r.Run(ctx, attempt, only)
		if err != nil {
			return nil, fmt.Errorf("attempt %d: %w", attempt, err)
		}
		res.Attempts++
		record(rep)
	}
	var known map[string]bool
	if opt.Known != nil {
		if known, err = opt.Known(order); err != nil {
			return nil, err
		}
	}
	slices.Sort(order)
	for _, id := range order {
		o := byID[id]
		o.Class = classify(o.Results, known == nil || known[id])
		if o.Class != StableFail && o.Class != FlakyTest {
			o.Message = ""
		}
		res.Tests = append(res.Tests, o)
	}
	return res, nil
}

func isFlaky(rs []Result) bool {
	pass, fail := false, false
	for _, r := range rs {
		switch {
		case r == Passed:
			pass = true
		case r.Bad():
			fail = true
		}
	}
	return pass && fail
}

func allBad(rs []Result) bool {
	for _, r := range rs {
		if !r.Bad() && r != Skipped {
			return false
		}
	}
	return true
}

// classify labels a test from its results: flaky beats stable fail beats
// new beats stable pass.
func classify(rs []Result, known bool) Class {
	pass, fail := false, false
	for _, r := range rs {
		switch {
		case r == Passed:
			pass = true
		case r.Bad():
			fail = true
		}
	}
	switch {
	case pass && fail:
		return FlakyTest
	case fail:
		return StableFail
	case !pass:
		return SkippedTest
	case !known:
		return NewTest
	}
	return StablePass
}

// ids returns the sorted unique IDs of cases.
func ids(cs []Case) []string {
	m := map[string]bool{}
	for _, c := range cs {
		m[c.ID()] = true
	}
	return slices.Sorted(maps.Keys(m))
}

// describe names the cases for messages.
func describe(cs []Case) string {
	s := ids(cs)
	if len(s) > 5 {
		return strings.Join(s[:5], ", ") + fmt.Sprintf(" and %d more", len(s)-5)
	}
	return strings.Join(s, ", ")
}
