// Package perf is the performance-regression gate.
//
// The flow through the package:
//
//  1. Parse reads benchmark output in any supported format (Go's benchmark
//     format through golang.org/x/perf/benchfmt, github-action-benchmark's
//     custom JSON and tool formats, plain "name value unit" lines) into a Set:
//     one Series of samples per (package, benchmark, unit).
//  2. Compare pairs the Series of a base Set and a new Set and runs
//     golang.org/x/perf/benchmath on each pair with benchstat's defaults
//     (Mann-Whitney U test, alpha 0.05, 95% confidence intervals around the
//     median), so every delta, p-value and "~" equals what benchstat prints.
//  3. Each Row gets a Status: a regression is significant (p <= alpha), in the
//     worse direction for its unit, and larger than the threshold percent.
//     Only regressions fail the gate.
//  4. Report turns a Comparison into a gate.Report; WriteTable prints a
//     benchstat-like table.
package perf

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/internal/diag"
)

// Better says which direction of a unit is an improvement.
type Better int

const (
	// LowerIsBetter: times, bytes, allocations.
	LowerIsBetter Better = -1
	// UnknownBetter: the direction is not known; a change is reported but
	// never fails the gate.
	UnknownBetter Better = 0
	// HigherIsBetter: throughputs (MB/s, ops/sec).
	HigherIsBetter Better = 1
)

func (b Better) String() string {
	switch b {
	case LowerIsBetter:
		return "lower"
	case HigherIsBetter:
		return "higher"
	}
	return "unknown"
}

// MarshalText writes the direction as "lower", "higher" or "unknown".
func (b Better) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// Key identifies a series: the benchmark's package (empty when the format
// has none), its full name and its unit.
type Key struct {
	Pkg  string `json:"pkg,omitempty"`
	Name string `json:"name"`
	Unit string `json:"unit"`
}

func (k Key) String() string {
	if k.Pkg == "" {
		return k.Name + " " + k.Unit
	}
	return k.Pkg + "." + k.Name + " " + k.Unit
}

// Series is the repeated measurements of one benchmark in one unit.
type Series struct {
	Key
	// Values in the order they were read.
	Values []float64 `json:"values"`
	// Better is the unit's direction.
	Better Better `json:"better"`
	// Exact is set when the unit is declared exact (benchfmt "Unit X
	// assume=exact"): repeated measurements do not add confidence.
	Exact bool `json:"exact,omitempty"`
	// Pos is where the first value was read.
	Pos diag.Pos `json:"pos"`
}

// Set is the benchmark results read from one or more inputs.
type Set struct {
	// Format is the detected (or forced) input format of the last input.
	Format string
	series map[Key]*Series
	order  []Key
	// Warnings are non-fatal problems met while reading (malformed
	// benchmark lines in Go output, for example).
	Warnings []diag.Diagnostic
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{series: map[Key]*Series{}} }

// Add appends one measurement, creating the series on first use. A value
// that is not a finite number is not added (the statistics would not end).
func (s *Set) Add(k Key, v float64, better Better, pos diag.Pos) *Series {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return &Series{Key: k} // not stored
	}
	if s.series == nil {
		s.series = map[Key]*Series{}
	}
	sr, ok := s.series[k]
	if !ok {
		sr = &Series{Key: k, Better: better, Pos: pos}
		s.series[k] = sr
		s.order = append(s.order, k)
	}
	sr.Values = append(sr.Values, v)
	return sr
}

// Merge adds every measurement of o to s.
func (s *Set) Merge(o *Set) {
	for _, k := range o.order {
		src := o.series[k]
		for _, v := range src.Values {
			dst := s.Add(k, v, src.Better, src.Pos)
			dst.Exact = dst.Exact || src.Exact
		}
	}
	s.Warnings = append(s.Warnings, o.Warnings...)
	if o.Format != "" {
		s.Format = o.Format
	}
}

// Get returns the series with key k.
func (s *Set) Get(k Key) (*Series, bool) {
	sr, ok := s.series[k]
	return sr, ok
}

// Series returns every series in the order first seen.
func (s *Set) Series() []*Series {
	out := make([]*Series, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.series[k])
	}
	return out
}

// Len is the number of series.
func (s *Set) Len() int { return len(s.order) }

// Samples is the total number of measurements.
func (s *Set) Samples() int {
	n := 0
	for _, sr := range s.series {
		n += len(sr.Values)
	}
	return n
}

// WriteGo writes the set in Go's benchmark format, one line per measurement,
// so benchstat and this package can read it back.
func (s *Set) WriteGo(b *strings.Builder) {
	pkgs := map[string][]*Series{}
	var order []string
	for _, sr := range s.Series() {
		if _, ok := pkgs[sr.Pkg]; !ok {
			order = append(order, sr.Pkg)
		}
		pkgs[sr.Pkg] = append(pkgs[sr.Pkg], sr)
	}
	for _, pkg := range order {
		if pkg != "" {
			fmt.Fprintf(b, "pkg: %s\n", pkg)
		}
		exact := map[string]bool{}
		for _, sr := range pkgs[pkg] {
			if sr.Exact && !exact[sr.Unit] {
				exact[sr.Unit] = true
				fmt.Fprintf(b, "Unit %s assume=exact\n", goUnit(sr.Unit))
			}
		}
		for _, sr := range pkgs[pkg] {
			for _, v := range sr.Values {
				fmt.Fprintf(b, "Benchmark%s 1 %v %s\n", goName(sr.Name), v, goUnit(sr.Unit))
			}
		}
	}
}

// goName makes a name valid in a Go benchmark line (no spaces).
func goName(n string) string {
	n = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' {
			return '_'
		}
		return r
	}, n)
	if n == "" {
		return "_"
	}
	return n
}

func goUnit(u string) string { return goName(u) }

// unionKeys returns the keys of a and b: a's in read order, then those
// only in b.
func unionKeys(a, b *Set) []Key {
	seen := map[Key]bool{}
	var out []Key
	for _, s := range []*Set{a, b} {
		for _, k := range s.order {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return slices.Clip(out)
}
