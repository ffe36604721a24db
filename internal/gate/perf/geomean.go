package perf

import (
	"fmt"
	"math"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchunit"
)

// Geomean is benchstat's summary row of one package and unit: the geometric
// mean of the base and new centers and of the per-benchmark ratios.
type Geomean struct {
	Pkg  string `json:"pkg,omitempty"`
	Unit string `json:"unit"`
	// Base and New are nil when a center is not > 0.
	Base *float64 `json:"base,omitempty"`
	New  *float64 `json:"new,omitempty"`
	// Ratio is the geomean of new/base over benchmarks in both (nil when
	// a base center is 0).
	Ratio    *float64 `json:"ratio,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Geomeans computes benchstat's geomean row for every package and unit with
// more than one benchmark, the way benchstat's summarizeCol does.
func (c *Comparison) Geomeans() []Geomean {
	type block struct{ pkg, unit string }
	var order []block
	rows := map[block][]Row{}
	for _, r := range c.Rows {
		k := block{r.Pkg, r.Unit}
		if _, ok := rows[k]; !ok {
			order = append(order, k)
		}
		rows[k] = append(rows[k], r)
	}
	var out []Geomean
	for _, k := range order {
		rs := rows[k]
		if len(rs) < 2 {
			continue
		}
		g := Geomean{Pkg: k.pkg, Unit: k.unit}
		var base, nw, ratios []float64
		bad, paired := false, 0
		for _, r := range rs {
			if r.Base != nil {
				base = append(base, r.Base.Center)
			}
			if r.New != nil {
				nw = append(nw, r.New.Center)
			}
			if r.Base != nil && r.New != nil {
				paired++
				switch a, b := r.New.Center, r.Base.Center; {
				case a == b:
					ratios = append(ratios, 1)
				case b == 0:
					bad = true
				default:
					ratios = append(ratios, a/b)
				}
			}
		}
		if paired != len(base) {
			g.Warnings = append(g.Warnings, "benchmark set differs from baseline; geomeans may not be comparable")
		}
		for _, side := range []struct {
			vals []float64
			dst  **float64
		}{{base, &g.Base}, {nw, &g.New}} {
			if gm := stats.GeoMean(side.vals); !math.IsNaN(gm) && len(side.vals) > 0 {
				*side.dst = &gm
			} else {
				g.Warnings = append(g.Warnings, "summaries must be >0 to compute geomean")
			}
		}
		if !bad {
			if gm := stats.GeoMean(ratios); !math.IsNaN(gm) && len(ratios) > 0 {
				g.Ratio = &gm
			} else {
				g.Warnings = append(g.Warnings, "ratios must be >0 to compute geomean")
			}
		}
		out = append(out, g)
	}
	return out
}

// Cells formats the row as benchstat prints it: each center scaled on its
// own, and the ratio as "+x.xx%" or "?".
func (g Geomean) Cells() (base, new, delta string) {
	cls := benchunit.ClassOf(g.Unit)
	if g.Base != nil {
		base = benchunit.Scale(*g.Base, cls)
	}
	if g.New != nil {
		new = benchunit.Scale(*g.New, cls)
	}
	delta = "?"
	if g.Ratio != nil {
		delta = fmt.Sprintf("%+.2f%%", (*g.Ratio-1)*100)
	}
	return base, new, delta
}
