package perf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/internal/diag"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchunit"
)

// goldenCase is one of benchstat's golden outputs (testdata/benchstat,
// GOLDEN_ARGS.tsv gives the benchstat arguments) and how to split its input
// into columns and rows the way those arguments do.
type goldenCase struct {
	golden string
	inputs []string
	// cell maps a result to its column and row label (benchstat's -col and
	// -row projections), ok=false filters it out.
	cell func(file string, r *benchfmt.Result) (col, row string, ok bool)
}

func byNote(_ string, r *benchfmt.Result) (string, string, bool) {
	return r.GetConfig("note"), string(r.Name), true
}

var reCRC = regexp.MustCompile(`^CRC32/poly=(\w+)/size=(\w+)/align=(\d)-\d+$`)

var goldenCases = []goldenCase{
	{golden: "units", inputs: []string{"units.txt"}, cell: byNote},
	{golden: "zero", inputs: []string{"zero.txt"}, cell: byNote},
	{golden: "smallSample", inputs: []string{"smallSample.txt"}, cell: byNote},
	{golden: "issue19565", inputs: []string{"issue19565.txt"}, cell: byNote},
	{golden: "issue19634", inputs: []string{"issue19634.txt"}, cell: byNote},
	{golden: "crcSizeVsPoly", inputs: []string{"crc-new.txt"}, cell: func(_ string, r *benchfmt.Result) (string, string, bool) {
		m := reCRC.FindStringSubmatch(string(r.Name))
		if m == nil || m[3] != "0" {
			return "", "", false
		}
		return m[1], m[2], true
	}},
	{golden: "csvOldNew", inputs: []string{"old.txt", "new.txt"}, cell: func(file string, r *benchfmt.Result) (string, string, bool) {
		return file, string(r.Name), true
	}},
}

// loadColumns reads the inputs with benchfmt and splits them into one Set
// per column label, in first-seen order, keyed by row label and tidied unit.
func loadColumns(t *testing.T, c goldenCase) ([]string, map[string]*Set) {
	t.Helper()
	sets := map[string]*Set{}
	var cols []string
	exact := map[string]bool{}
	for _, in := range c.inputs {
		data, err := os.ReadFile(filepath.Join("testdata/benchstat", in))
		if err != nil {
			t.Fatal(err)
		}
		r := benchfmt.NewReader(bytes.NewReader(data), in)
		for r.Scan() {
			res, ok := r.Result().(*benchfmt.Result)
			if !ok {
				continue
			}
			col, row, ok := c.cell(in, res)
			if !ok {
				continue
			}
			if _, seen := sets[col]; !seen {
				cols = append(cols, col)
				sets[col] = NewSet()
			}
			for _, v := range res.Values {
				sets[col].Add(Key{Name: row, Unit: v.Unit}, v.Value, LowerIsBetter, diag.Pos{})
			}
		}
		for k, m := range r.Units() {
			if k.Key == "assume" && m.Value == "exact" {
				exact[k.Unit] = true
			}
		}
	}
	for _, s := range sets {
		for _, sr := range s.Series() {
			sr.Exact = exact[sr.Unit]
		}
	}
	return cols, sets
}

var (
	reSummary = `(\S+) ± (\S+)(?: [¹²³⁴⁵⁶])?`
	reCompare = `(~|\?|[+-]?[0-9.]+%) \(([^)]*)\)(?: [¹²³⁴⁵⁶])?`
	reCellTok = regexp.MustCompile(reSummary + `|` + reCompare)
)

type goldenCell struct{ center, rng, delta, test string }

// parseTextGolden reads benchstat's text tables: per table the unit, the
// column labels and, per row, the cells (summary, then delta/test for every
// non-base column).
type goldenTable struct {
	unit string
	cols []string
	rows map[string][]goldenCell
	rowN []string
	// geomean is the summary row's cells, footnote marks dropped.
	geomean []string
}

func parseTextGolden(t *testing.T, text string) []goldenTable {
	var tables []goldenTable
	ls := strings.Split(text, "\n")
	for i := 0; i < len(ls); i++ {
		if !strings.Contains(ls[i], "│") || i+1 >= len(ls) {
			continue
		}
		var tb goldenTable
		for _, f := range strings.Split(ls[i], "│")[1:] {
			if s := strings.TrimSpace(f); s != "" {
				tb.cols = append(tb.cols, s)
			}
		}
		tb.unit = strings.Fields(strings.Split(ls[i+1], "│")[1])[0]
		tb.rows = map[string][]goldenCell{}
		i += 2
		for ; i < len(ls) && strings.TrimSpace(ls[i]) != "" && !strings.HasPrefix(ls[i], "¹"); i++ {
			f := strings.Fields(ls[i])
			name := f[0]
			if name == "geomean" {
				for _, tok := range f[1:] {
					if !strings.ContainsAny(tok, "¹²³⁴⁵⁶") {
						tb.geomean = append(tb.geomean, tok)
					}
				}
				continue
			}
			rest := strings.TrimPrefix(strings.TrimLeft(ls[i], " "), name)
			var cells []goldenCell
			for _, m := range reCellTok.FindAllStringSubmatch(rest, -1) {
				if m[1] != "" {
					cells = append(cells, goldenCell{center: m[1], rng: m[2]})
				} else if len(cells) > 0 {
					cells[len(cells)-1].delta, cells[len(cells)-1].test = m[3], m[4]
				}
			}
			tb.rows[name] = cells
			tb.rowN = append(tb.rowN, name)
		}
		tables = append(tables, tb)
	}
	return tables
}

// TestBenchstatGoldens reproduces benchstat's golden outputs: every center,
// confidence range, delta ("~", "+5.00%", "?") and test column ("p=0.008
// n=5") of every compared cell must be equal.
func TestBenchstatGoldens(t *testing.T) {
	total, agree := 0, 0
	for _, c := range goldenCases {
		t.Run(c.golden, func(t *testing.T) {
			cols, sets := loadColumns(t, c)
			check := func(what, want, got string) {
				total++
				if want == got {
					agree++
					return
				}
				t.Errorf("%s: got %q, benchstat printed %q", what, got, want)
			}
			if c.golden == "csvOldNew" {
				data, err := os.ReadFile("testdata/benchstat/csvOldNew.stdout")
				if err != nil {
					t.Fatal(err)
				}
				cmp := Compare(sets[cols[0]], sets[cols[1]], DefaultOptions())
				rows := 0
				for _, l := range strings.Split(string(data), "\n") {
					f := strings.Split(l, ",")
					if len(f) == 7 && f[0] == "geomean" {
						g := cmp.Geomeans()[0]
						check("geomean base", f[1], fmt.Sprint(*g.Base))
						check("geomean new", f[3], fmt.Sprint(*g.New))
						_, _, d := g.Cells()
						check("geomean delta", f[5], d)
						continue
					}
					if len(f) != 7 || f[0] == "" {
						continue
					}
					rows++
					row := findRow(t, cmp, f[0], "sec/op")
					check(f[0]+" base center", f[1], fmt.Sprint(row.Base.Center))
					check(f[0]+" base range", f[2], row.Base.Range)
					check(f[0]+" new center", f[3], fmt.Sprint(row.New.Center))
					check(f[0]+" new range", f[4], row.New.Range)
					check(f[0]+" delta", f[5], row.Delta)
					check(f[0]+" test", f[6], row.Test)
				}
				if rows != 2 {
					t.Fatalf("read %d CSV rows, want 2", rows)
				}
				return
			}
			data, err := os.ReadFile("testdata/benchstat/" + c.golden + ".stdout")
			if err != nil {
				t.Fatal(err)
			}
			tables := parseTextGolden(t, string(data))
			if len(tables) == 0 {
				t.Fatal("no tables in golden")
			}
			for _, tb := range tables {
				if len(tb.cols) < 2 || tb.cols[0] != cols[0] {
					t.Fatalf("golden columns %q, inputs give %q", tb.cols, cols)
				}
				cmps := map[string]*Comparison{}
				for _, col := range tb.cols[1:] {
					cmps[col] = Compare(sets[cols[0]], sets[col], DefaultOptions())
				}
				if len(tb.rowN) > 1 {
					// The geomean row: base, then per column new and
					// delta, as benchstat lays it out.
					var got []string
					for j, col := range tb.cols[1:] {
						var g *Geomean
						for _, x := range cmps[col].Geomeans() {
							if x.Unit == tb.unit {
								g = &x
							}
						}
						if g == nil {
							t.Fatalf("no geomean for %s", tb.unit)
						}
						b, n, d := g.Cells()
						if j == 0 && b != "" {
							got = append(got, b)
						}
						if n != "" {
							got = append(got, n)
						}
						got = append(got, d)
					}
					check(tb.unit+" geomean row", strings.Join(tb.geomean, " "), strings.Join(got, " "))
				}
				for _, name := range tb.rowN {
					cells := tb.rows[name]
					if len(cells) != len(tb.cols) {
						// A row missing from some column (issue19565's B
						// and C): check it is reported as removed/added.
						row := findRow(t, cmps[tb.cols[1]], name, tb.unit)
						if row.Status != Added && row.Status != Removed {
							t.Errorf("%s: status %s, want added or removed", name, row.Status)
						}
						continue
					}
					// benchstat scales a row's centers together.
					var centers []float64
					var rows []Row
					for j, col := range tb.cols[1:] {
						row := findRow(t, cmps[col], name, tb.unit)
						rows = append(rows, row)
						if j == 0 {
							centers = append(centers, row.Base.Center)
						}
						centers = append(centers, row.New.Center)
					}
					sc := benchunit.CommonScale(centers, benchunit.ClassOf(tb.unit))
					where := fmt.Sprintf("%s %s", name, tb.unit)
					check(where+" base center", cells[0].center, sc.Format(rows[0].Base.Center))
					check(where+" base range", cells[0].rng, rows[0].Base.Range)
					for j, row := range rows {
						gc := cells[j+1]
						w := where + " vs " + tb.cols[j+1]
						check(w+" center", gc.center, sc.Format(row.New.Center))
						check(w+" range", gc.rng, row.New.Range)
						check(w+" delta", gc.delta, row.Delta)
						check(w+" test", gc.test, row.Test)
					}
				}
			}
		})
	}
	t.Logf("benchstat goldens: %d/%d cells agree", agree, total)
	if total < 100 {
		t.Errorf("only %d cells checked", total)
	}
}

func findRow(t *testing.T, c *Comparison, name, unit string) Row {
	t.Helper()
	for _, r := range c.Rows {
		if r.Name == name && r.Unit == unit {
			return r
		}
	}
	t.Fatalf("no row %s %s", name, unit)
	return Row{}
}
