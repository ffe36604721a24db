package perf

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchunit"
)

// Options are the gate's statistical settings. DefaultOptions gives
// benchstat's defaults and a 5% threshold.
type Options struct {
	// Threshold is the smallest regression, in percent of the base
	// median, that fails the gate.
	Threshold float64 `json:"threshold"`
	// Alpha is the significance level of the Mann-Whitney U test.
	Alpha float64 `json:"alpha"`
	// Confidence is the level of the confidence intervals shown.
	Confidence float64 `json:"confidence"`
}

// DefaultOptions: threshold 5%, alpha 0.05, confidence 0.95.
func DefaultOptions() Options { return Options{Threshold: 5, Alpha: 0.05, Confidence: 0.95} }

// Validate checks the options' ranges.
func (o Options) Validate() error {
	switch {
	case o.Threshold < 0 || math.IsNaN(o.Threshold) || math.IsInf(o.Threshold, 0):
		return fmt.Errorf("threshold %v must be a percentage >= 0", o.Threshold)
	case !(o.Alpha > 0 && o.Alpha < 1):
		return fmt.Errorf("alpha %v must be between 0 and 1", o.Alpha)
	case !(o.Confidence > 0 && o.Confidence < 1):
		return fmt.Errorf("confidence %v must be between 0 and 1", o.Confidence)
	}
	return nil
}

// Status is a row's outcome.
type Status string

const (
	// Regression: significant, worse, and above the threshold. Fails.
	Regression Status = "regression"
	// MinorRegression: significant and worse, but within the threshold.
	MinorRegression Status = "within-threshold"
	// Improvement: significant and better.
	Improvement Status = "improvement"
	// Unchanged: no significant difference (benchstat's "~").
	Unchanged Status = "unchanged"
	// Inconclusive: too few samples for the test to ever reach alpha.
	Inconclusive Status = "inconclusive"
	// Added: only in the new results.
	Added Status = "added"
	// Removed: only in the base results.
	Removed Status = "removed"
)

// Cell summarises one side of a row.
type Cell struct {
	// Center is the median (or, for exact units, the mode).
	Center float64 `json:"center"`
	// Lo and Hi bound the confidence interval.
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// Range is the interval as benchstat prints it: "3%", "∞" or "?".
	Range string `json:"range"`
	// N is the number of samples.
	N        int      `json:"n"`
	Warnings []string `json:"warnings,omitempty"`
}

// Row is one benchmark and unit compared.
type Row struct {
	Key
	Better Better `json:"better"`
	Base   *Cell  `json:"base,omitempty"`
	New    *Cell  `json:"new,omitempty"`
	// Delta is benchstat's delta column: "~", "+5.00%", "0.00%" or "?".
	Delta string `json:"delta,omitempty"`
	// DeltaPct is the change of the centers in percent (nil when
	// undefined: a zero base).
	DeltaPct *float64 `json:"delta_pct,omitempty"`
	// P is the p-value; Test is benchstat's "(p=0.000 n=10)" text.
	P        float64  `json:"p"`
	Test     string   `json:"test,omitempty"`
	Status   Status   `json:"status"`
	Warnings []string `json:"warnings,omitempty"`
	Pos      diag.Pos `json:"-"`
	class    benchunit.Class
}

// Comparison is the outcome of comparing a base set with a new set.
type Comparison struct {
	Options Options `json:"options"`
	Rows    []Row   `json:"rows"`
	// Summary holds benchstat's geomean rows (see Geomeans).
	Summary []Geomean `json:"geomeans,omitempty"`
}

func summarise(sr *Series, o Options) (*benchmath.Sample, benchmath.Assumption, *Cell) {
	t := benchmath.DefaultThresholds
	t.CompareAlpha = o.Alpha
	var assume benchmath.Assumption = benchmath.AssumeNothing
	if sr.Exact {
		assume = benchmath.AssumeExact
	}
	s := benchmath.NewSample(slices.Clone(sr.Values), &t)
	sum := assume.Summary(s, o.Confidence)
	c := &Cell{Center: sum.Center, Lo: sum.Lo, Hi: sum.Hi, Range: sum.PctRangeString(), N: len(sr.Values)}
	for _, w := range append(s.Warnings, sum.Warnings...) {
		c.Warnings = append(c.Warnings, w.Error())
	}
	return s, assume, c
}

// Compare pairs every series of base with the same series of new and tests
// each pair with benchmath, as benchstat does.
func Compare(base, new *Set, o Options) *Comparison {
	c := &Comparison{Options: o}
	for _, k := range unionKeys(base, new) {
		b, inBase := base.Get(k)
		n, inNew := new.Get(k)
		row := Row{Key: k, class: benchunit.ClassOf(k.Unit)}
		switch {
		case !inBase:
			_, _, row.New = summarise(n, o)
			row.Better, row.Status, row.Pos = n.Better, Added, n.Pos
		case !inNew:
			_, _, row.Base = summarise(b, o)
			row.Better, row.Status, row.Pos = b.Better, Removed, b.Pos
		default:
			row.Better, row.Pos = n.Better, n.Pos
			if b.Better != n.Better && n.Better == UnknownBetter {
				row.Better = b.Better
			}
			bs, assume, bc := summarise(b, o)
			if b.Exact != n.Exact {
				assume = benchmath.AssumeNothing
			}
			ns, _, nc := summarise(n, o)
			row.Base, row.New = bc, nc
			cmp := assume.Compare(bs, ns)
			if cmp.Alpha == 0 && assume == benchmath.AssumeExact {
				cmp.Alpha = o.Alpha
			}
			row.P = cmp.P
			row.Delta = cmp.FormatDelta(bc.Center, nc.Center)
			row.Test = cmp.String()
			for _, w := range cmp.Warnings {
				row.Warnings = append(row.Warnings, w.Error())
			}
			if bc.Center == nc.Center {
				z := 0.0
				row.DeltaPct = &z
			} else if bc.Center != 0 {
				d := (nc.Center/bc.Center - 1) * 100
				row.DeltaPct = &d
			}
			row.Status = classify(row, cmp, o)
		}
		c.Rows = append(c.Rows, row)
	}
	c.Summary = c.Geomeans()
	return c
}

func classify(row Row, cmp benchmath.Comparison, o Options) Status {
	if cmp.P > cmp.Alpha {
		if len(cmp.Warnings) > 0 {
			return Inconclusive
		}
		return Unchanged
	}
	if row.DeltaPct == nil {
		// Significant change from a zero base: a cost that appeared
		// (or a rate that left zero) is unbounded in percent.
		if (row.Better == LowerIsBetter && row.New.Center > row.Base.Center) ||
			(row.Better == HigherIsBetter && row.New.Center < row.Base.Center) {
			return Regression
		}
		return Improvement
	}
	d := *row.DeltaPct
	switch {
	case d == 0:
		return Unchanged
	case row.Better == UnknownBetter:
		return MinorRegression
	case (d > 0) == (row.Better == HigherIsBetter):
		return Improvement
	case math.Abs(d) > o.Threshold:
		return Regression
	}
	return MinorRegression
}

// Count returns how many rows have status s.
func (c *Comparison) Count(s Status) int {
	n := 0
	for _, r := range c.Rows {
		if r.Status == s {
			n++
		}
	}
	return n
}

// label is the row's name as shown; the package is shown once per table.
func (r Row) label() string { return r.Name }

func (r Row) centers() (base, new string) {
	var vals []float64
	if r.Base != nil {
		vals = append(vals, r.Base.Center)
	}
	if r.New != nil {
		vals = append(vals, r.New.Center)
	}
	sc := benchunit.CommonScale(vals, r.class)
	if r.Base != nil {
		base = sc.Format(r.Base.Center)
	}
	if r.New != nil {
		new = sc.Format(r.New.Center)
	}
	return base, new
}

// Cells returns the row formatted as benchstat formats it: base center and
// range, new center and range (with a shared scale), delta and test.
func (r Row) Cells() (base, baseRange, new, newRange, delta, test string) {
	base, new = r.centers()
	if r.Base != nil {
		baseRange = r.Base.Range
	}
	if r.New != nil {
		newRange = r.New.Range
	}
	return base, baseRange, new, newRange, r.Delta, r.Test
}

func (r Row) change() string {
	if r.DeltaPct == nil {
		return "from zero"
	}
	return fmt.Sprintf("%+.2f%%", *r.DeltaPct)
}

func (r Row) side(c *Cell, s string) string {
	if c == nil {
		return ""
	}
	return s + " ± " + c.Range
}

// Report turns the comparison into the gate's report.
func (c *Comparison) Report() *gate.Report {
	r := &gate.Report{Gate: "perf", Data: c}
	r.Rules = []diag.Rule{
		{ID: "perf/regression", Description: "Significant performance regression (Mann-Whitney U, p <= alpha) larger than the threshold"},
		{ID: "perf/within-threshold", Description: "Significant performance regression within the threshold"},
	}
	var regs []string
	compared := 0
	for _, row := range c.Rows {
		if row.Base != nil && row.New != nil {
			compared++
		}
		b, n := row.centers()
		msg := fmt.Sprintf("%s %s: %s (%s → %s, %s); %s is better", row.label(), row.Unit, row.change(), b, n, row.Test, row.Better)
		tc := gate.TestCase{Name: row.label() + " " + row.Unit, Class: "perf"}
		switch row.Status {
		case Regression:
			r.Add(gate.Finding{
				Diagnostic:  diag.Errorf(row.Pos, "perf/regression", "%s, above the %g%% threshold", msg, c.Options.Threshold),
				Fingerprint: "perf/regression:" + row.Key.String(),
			})
			regs = append(regs, fmt.Sprintf("%s %s %s", row.label(), row.Unit, row.change()))
			tc.Failure = msg
		case MinorRegression:
			r.Add(gate.Finding{
				Diagnostic:  diag.Warnf(row.Pos, "perf/within-threshold", "%s, within the %g%% threshold", msg, c.Options.Threshold),
				Fingerprint: "perf/within-threshold:" + row.Key.String(),
			})
		case Inconclusive:
			tc.Skipped = "too few samples: " + strings.Join(row.Warnings, "; ")
		case Added, Removed:
			tc.Skipped = "only in the " + map[Status]string{Added: "new", Removed: "base"}[row.Status] + " results"
		}
		r.Tests = append(r.Tests, tc)
	}
	nReg, nImp, nInc := c.Count(Regression), c.Count(Improvement), c.Count(Inconclusive)
	r.Metrics = []gate.Metric{
		{Name: "compared", Value: float64(compared)},
		{Name: "regressions", Value: float64(nReg)},
		{Name: "within threshold", Value: float64(c.Count(MinorRegression))},
		{Name: "improvements", Value: float64(nImp)},
		{Name: "inconclusive", Value: float64(nInc)},
	}
	switch {
	case nReg > 0:
		r.Verdict = gate.Fail
		r.Reason = fmt.Sprintf("%d significant regression(s) above %g%%: %s", nReg, c.Options.Threshold, strings.Join(regs, ", "))
	case compared == 0:
		r.Verdict = gate.Inconclusive
		r.Reason = "no benchmark appears in both the base and the new results"
	case nInc == compared:
		r.Verdict = gate.Inconclusive
		r.Reason = fmt.Sprintf("too few samples to detect a difference at alpha %g (run each benchmark at least 4 times, 10 recommended)", c.Options.Alpha)
	default:
		r.Verdict = gate.Pass
		r.Reason = fmt.Sprintf("no significant regression above %g%% in %d comparison(s) (%d improved, %d within threshold, %d inconclusive)",
			c.Options.Threshold, compared, nImp, c.Count(MinorRegression), nInc)
	}
	r.Details = c.markdown()
	return r
}

func (c *Comparison) markdown() string {
	var b strings.Builder
	b.WriteString("| benchmark | unit | base | new | delta | test | status |\n|---|---|--:|--:|--:|---|---|\n")
	for _, row := range c.sorted() {
		base, _, nw, _, delta, test := row.Cells()
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s%s |\n",
			mdCell(row.label()), mdCell(row.Unit), row.side(row.Base, base), row.side(row.New, nw), delta, test, statusIcon(row.Status), row.Status)
	}
	for _, g := range c.Summary {
		base, nw, delta := g.Cells()
		fmt.Fprintf(&b, "| _geomean_ | %s | %s | %s | %s | | |\n", mdCell(g.Unit), base, nw, delta)
	}
	return b.String()
}

func statusIcon(s Status) string {
	switch s {
	case Regression:
		return "❌ "
	case MinorRegression:
		return "⚠️ "
	case Improvement:
		return "🚀 "
	}
	return ""
}

func mdCell(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s) }

// sorted orders rows with regressions first, then by unit and name as read.
func (c *Comparison) sorted() []Row {
	rank := map[Status]int{Regression: 0, MinorRegression: 1, Improvement: 2, Unchanged: 3, Inconclusive: 4, Added: 5, Removed: 6}
	rows := slices.Clone(c.Rows)
	slices.SortStableFunc(rows, func(a, b Row) int { return cmp.Compare(rank[a.Status], rank[b.Status]) })
	return rows
}

// WriteTable prints the comparison as a benchstat-like table, one block
// per package and unit, with a status column.
func (c *Comparison) WriteTable(w io.Writer) error {
	type block struct{ pkg, unit string }
	var blocks []block
	byBlock := map[block][]Row{}
	for _, row := range c.Rows {
		k := block{row.Pkg, row.Unit}
		if _, ok := byBlock[k]; !ok {
			blocks = append(blocks, k)
		}
		byBlock[k] = append(byBlock[k], row)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, k := range blocks {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		if k.pkg != "" {
			fmt.Fprintf(tw, "pkg: %s\n", k.pkg)
		}
		fmt.Fprintf(tw, "%s\tbase\tnew\tvs base\tstatus\n", k.unit)
		for _, row := range byBlock[k] {
			base, _, nw, _, delta, test := row.Cells()
			vs := delta
			if test != "" {
				vs += " (" + test + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", row.label(), row.side(row.Base, base), row.side(row.New, nw), vs, row.Status)
		}
		for _, g := range c.Summary {
			if g.Pkg == k.pkg && g.Unit == k.unit {
				base, nw, delta := g.Cells()
				fmt.Fprintf(tw, "geomean\t%s\t%s\t%s\n", base, nw, delta)
			}
		}
	}
	return tw.Flush()
}
