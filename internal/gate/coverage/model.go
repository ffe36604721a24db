// Package coverage is shipgate's coverage gate.
//
// The flow: Read (or Parse) turns each input file into a *Profile, detecting
// the format from the content, never from the file name: Go cover profiles
// (set, count, atomic), LCOV, Cobertura XML, JaCoCo XML, the Erlang cover
// HTML pages (index.html and *.COVER.html) and `rebar3 cover --verbose`
// output. Profiles merge (Merge) so several inputs make one picture. Evaluate
// applies the thresholds in Options (overall minimum, stretch goal,
// per-module minimums, patch coverage of a diff) and returns a gate.Report
// whose Markdown details are the pull-request comment body: total, status
// against min and stretch, and a table of modules, critical ones first.
package coverage

import (
	"cmp"
	"maps"
	"path"
	"slices"
	"strings"
)

// Unit is what a coverage figure counts.
type Unit string

const (
	// Lines counts executable lines (LCOV, Cobertura, JaCoCo, Erlang).
	Lines Unit = "lines"
	// Statements counts statements (Go cover profiles, as `go test -cover`).
	Statements Unit = "statements"
)

// Counts is a covered/total pair.
type Counts struct {
	Covered int64 `json:"covered"`
	Total   int64 `json:"total"`
}

// Percent is Covered/Total as a percentage; 100 when Total is zero.
func (c Counts) Percent() float64 {
	if c.Total == 0 {
		return 100
	}
	return float64(c.Covered) * 100 / float64(c.Total)
}

// Add returns the sum of two counts.
func (c Counts) Add(o Counts) Counts { return Counts{c.Covered + o.Covered, c.Total + o.Total} }

// File is one source file's coverage.
type File struct {
	// Name is the path as the report names it (slash-separated).
	Name string `json:"name"`
	// Package is the module the file belongs to: the Go package directory,
	// the Cobertura/JaCoCo package, the Erlang module, or the directory.
	Package string `json:"package"`
	// Lines maps an executable line number to its hit count. Empty when the
	// report only carries counters (Summary).
	Lines map[int]int64 `json:"-"`
	// Summary, when set, is the producer's own count for a file that has no
	// per-line data (JaCoCo counters, Erlang index pages).
	Summary *Counts `json:"-"`
	// Blocks are Go cover blocks (statements), keyed by position.
	Blocks map[Block]int64 `json:"-"`
	// FuncLines are LCOV function lines (FN/FNDA) with the function's call
	// count. Totals leave them out, as lcov's LF/LH do; patch coverage
	// measures them, as diff_cover does.
	FuncLines map[int]int64 `json:"-"`
	// pctOnly marks a Summary that is a percentage scaled to 10000 (no
	// real line counts).
	pctOnly bool
}

// Block is one Go cover block: its span and number of statements.
type Block struct {
	StartLine, StartCol, EndLine, EndCol int
	Stmts                                int
}

// LineCounts is the file's line coverage: executable lines and those hit.
func (f *File) LineCounts() Counts {
	if len(f.Lines) == 0 && f.Summary != nil {
		return *f.Summary
	}
	var c Counts
	for _, h := range f.Lines {
		c.Total++
		if h > 0 {
			c.Covered++
		}
	}
	return c
}

// StatementCounts is the file's statement coverage (Go only).
func (f *File) StatementCounts() Counts {
	var c Counts
	for b, n := range f.Blocks {
		c.Total += int64(b.Stmts)
		if n > 0 {
			c.Covered += int64(b.Stmts)
		}
	}
	return c
}

// Counts is the file's coverage in unit u.
func (f *File) Counts(u Unit) Counts {
	if u == Statements {
		return f.StatementCounts()
	}
	return f.LineCounts()
}

// Profile is the coverage of a set of files, from one or more reports.
type Profile struct {
	// Formats are the input formats merged into this profile, sorted.
	Formats []string `json:"formats"`
	// Files by name.
	Files map[string]*File `json:"-"`
	// Declared is the total a producer wrote into the report itself
	// (Cobertura's lines-covered/lines-valid, JaCoCo's report LINE counter,
	// the Erlang index page's Total), when it did and only one report was
	// read. Tests compare it with the computed total.
	Declared *Counts `json:"declared,omitempty"`
	// DeclaredPercent is a producer's stated percentage where it gives no
	// counts (the Erlang index page), or -1.
	DeclaredPercent float64 `json:"-"`
	// PercentOnly is set when the inputs give percentages without line
	// counts (an Erlang index page, rebar3 cover --verbose): the total is
	// then the producer's stated total.
	PercentOnly bool `json:"percent_only,omitempty"`
}

// NewProfile returns an empty profile of the given format.
func NewProfile(format string) *Profile {
	return &Profile{Formats: []string{format}, Files: map[string]*File{}, DeclaredPercent: -1}
}

// File returns the file called name, creating it in package pkg.
func (p *Profile) File(name, pkg string) *File {
	f, ok := p.Files[name]
	if !ok {
		f = &File{Name: name, Package: pkg, Lines: map[int]int64{}}
		p.Files[name] = f
	}
	return f
}

// Unit is Statements when every file carries Go blocks, Lines otherwise.
func (p *Profile) Unit() Unit {
	if len(p.Files) == 0 {
		return Lines
	}
	for _, f := range p.Files {
		if f.Blocks == nil {
			return Lines
		}
	}
	return Statements
}

// Total is the profile's coverage in its unit.
func (p *Profile) Total() Counts { return p.TotalIn(p.Unit()) }

// TotalIn is the profile's coverage in unit u.
func (p *Profile) TotalIn(u Unit) Counts {
	if p.PercentOnly && p.DeclaredPercent >= 0 {
		return Counts{Covered: int64(p.DeclaredPercent * 100), Total: 10000}
	}
	var c Counts
	for _, f := range p.Files {
		c = c.Add(f.Counts(u))
	}
	return c
}

// Names returns the file names, sorted.
func (p *Profile) Names() []string { return slices.Sorted(maps.Keys(p.Files)) }

// Merge adds other's coverage into p. Hits on the same line or Go block add
// up (count mode); a line is covered when any report covered it.
func (p *Profile) Merge(other *Profile) {
	for _, fm := range other.Formats {
		if !slices.Contains(p.Formats, fm) {
			p.Formats = append(p.Formats, fm)
		}
	}
	slices.Sort(p.Formats)
	if len(p.Files) == 0 {
		p.Declared, p.DeclaredPercent, p.PercentOnly = other.Declared, other.DeclaredPercent, other.PercentOnly
	} else {
		p.Declared, p.DeclaredPercent = nil, -1
		// Line data from one input beats percentages from another.
		p.PercentOnly = p.PercentOnly && other.PercentOnly
	}
	defer func() {
		if p.PercentOnly {
			return
		}
		for name, f := range p.Files {
			if f.pctOnly && len(f.Lines) == 0 {
				delete(p.Files, name)
			}
		}
	}()
	for name, of := range other.Files {
		f, ok := p.Files[name]
		if !ok {
			p.Files[name] = of
			continue
		}
		for l, h := range of.Lines {
			f.Lines[l] = satAdd(f.Lines[l], h)
		}
		for l, h := range of.FuncLines {
			if f.FuncLines == nil {
				f.FuncLines = map[int]int64{}
			}
			f.FuncLines[l] = satAdd(f.FuncLines[l], h)
		}
		if of.Blocks != nil {
			if f.Blocks == nil {
				f.Blocks = map[Block]int64{}
			}
			for b, n := range of.Blocks {
				f.Blocks[b] = satAdd(f.Blocks[b], n)
			}
			f.Lines = goLines(f.Blocks)
		}
		if of.Summary != nil && len(f.Lines) == 0 {
			if f.Summary == nil {
				f.Summary = of.Summary
			} else if of.Summary.Covered > f.Summary.Covered {
				f.Summary = of.Summary
			}
		}
	}
}

// Module is one row of the modules table.
type Module struct {
	Name   string  `json:"name"`
	Counts Counts  `json:"counts"`
	Pct    float64 `json:"percent"`
	// Min is the module's own minimum, when one is set (critical module).
	Min *float64 `json:"min,omitempty"`
	// Delta is the change in points against the baseline, when known.
	Delta *float64 `json:"delta,omitempty"`
	// Met is false when Min is set and missed.
	Met bool `json:"met"`
}

// Modules groups the profile's files by Package and returns the rows sorted
// by name.
func (p *Profile) Modules() []Module {
	u := p.Unit()
	byPkg := map[string]Counts{}
	for _, f := range p.Files {
		byPkg[f.Package] = byPkg[f.Package].Add(f.Counts(u))
	}
	out := make([]Module, 0, len(byPkg))
	for _, name := range slices.Sorted(maps.Keys(byPkg)) {
		c := byPkg[name]
		out = append(out, Module{Name: name, Counts: c, Pct: c.Percent(), Met: true})
	}
	return out
}

// Match returns the coverage of the files that pattern selects: a package
// name, a file name, a path prefix (directory), an Erlang module name, or a
// path.Match glob. ok is false when nothing matched.
func (p *Profile) Match(pattern string) (c Counts, ok bool) {
	u := p.Unit()
	pattern = strings.TrimSuffix(pattern, "/")
	for _, f := range p.Files {
		if matchFile(f, pattern) {
			c = c.Add(f.Counts(u))
			ok = true
		}
	}
	return c, ok
}

func matchFile(f *File, pattern string) bool {
	if f.Package == pattern || f.Name == pattern {
		return true
	}
	if strings.HasPrefix(f.Name, pattern+"/") || strings.HasPrefix(f.Package, pattern+"/") {
		return true
	}
	base := path.Base(f.Name)
	if strings.TrimSuffix(base, path.Ext(base)) == pattern {
		return true
	}
	if m, _ := path.Match(pattern, f.Name); m {
		return true
	}
	if m, _ := path.Match(pattern, f.Package); m {
		return true
	}
	return false
}

// sortModules puts critical modules (with a Min) first, then by name.
func sortModules(ms []Module) {
	slices.SortStableFunc(ms, func(a, b Module) int {
		if (a.Min != nil) != (b.Min != nil) {
			if a.Min != nil {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Name, b.Name)
	})
}
