package tests

import (
	"fmt"
	"maps"
	"slices"
)

// Merge appends other's cases and counts to r.
func (r *Report) Merge(other *Report) {
	r.Files += other.Files
	r.Suites += other.Suites
	r.Cases = append(r.Cases, other.Cases...)
	r.Declared.Tests += other.Declared.Tests
	r.Declared.Failures += other.Declared.Failures
	r.Declared.Errors += other.Declared.Errors
	r.Declared.Skipped += other.Declared.Skipped
}

// Counts are test counts by result.
type Counts struct {
	Total   int `json:"total"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Errored int `json:"errored"`
	Skipped int `json:"skipped"`
}

func (c *Counts) add(r Result) {
	c.Total++
	switch r {
	case Passed:
		c.Passed++
	case Failed:
		c.Failed++
	case Errored:
		c.Errored++
	case Skipped:
		c.Skipped++
	}
}

// Runs counts every case (every execution).
func (r *Report) Runs() Counts {
	var c Counts
	for _, k := range r.Cases {
		c.add(k.Result)
	}
	r.addDeclared(&c)
	return c
}

func (r *Report) addDeclared(c *Counts) {
	d := r.Declared
	if d.Tests == 0 {
		return
	}
	c.Total += d.Tests
	c.Failed += d.Failures
	c.Errored += d.Errors
	c.Skipped += d.Skipped
	if p := d.Tests - d.Failures - d.Errors - d.Skipped; p > 0 {
		c.Passed += p
	}
}

// Test is one test (by ID) with the outcome of all its cases.
type Test struct {
	ID     string `json:"id"`
	Result Result `json:"result"`
	Runs   int    `json:"runs"`
	// Flaky is set when the cases of this test both passed and failed, or
	// the runner reported a flaky re-run.
	Flaky bool `json:"flaky,omitempty"`
}

// Tests groups cases by ID. A test's result is error if any run errored,
// else failure if any failed, else passed if any passed, else skipped.
func (r *Report) Tests() []Test {
	byID := map[string]*Test{}
	passed := map[string]bool{}
	for i, c := range r.Cases {
		id := c.ID()
		if id == "" {
			// Nameless cases cannot be told apart: each is its own test.
			id = fmt.Sprintf("%s#%d", c.File, i)
		}
		t, ok := byID[id]
		if !ok {
			t = &Test{ID: id, Result: c.Result}
			byID[id] = t
		}
		t.Runs++
		if c.Flaky {
			t.Flaky = true
		}
		if c.Result == Passed {
			passed[id] = true
		}
		if aggRank(c.Result) > aggRank(t.Result) {
			t.Result = c.Result
		}
	}
	out := make([]Test, 0, len(byID))
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		t := byID[id]
		if t.Result.Bad() && passed[id] {
			t.Flaky = true
		}
		out = append(out, *t)
	}
	return out
}

// aggRank orders outcomes across runs: error > failure > passed > skipped.
func aggRank(r Result) int {
	switch r {
	case Errored:
		return 3
	case Failed:
		return 2
	case Passed:
		return 1
	}
	return 0
}

// TestCounts counts tests (unique IDs) by their merged result.
func (r *Report) TestCounts() Counts {
	var c Counts
	for _, t := range r.Tests() {
		c.add(t.Result)
	}
	r.addDeclared(&c)
	return c
}
