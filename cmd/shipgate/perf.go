package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/atomicfile"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
	"github.com/shipgate/shipgate/internal/gate/perf"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/spf13/cobra"
)

// perfFlags are the options compare and run share.
type perfFlags struct {
	report       reportFlags
	threshold    float64
	alpha        float64
	confidence   float64
	tool         string
	baseline     string
	saveBaseline string
	revision     string
	storeDir     string
}

func (f *perfFlags) register(c *cobra.Command) {
	f.report.register(c)
	o := perf.DefaultOptions()
	c.Flags().Float64Var(&f.threshold, "threshold", o.Threshold, "smallest significant regression, in `percent`, that fails the gate")
	c.Flags().Float64Var(&f.alpha, "alpha", o.Alpha, "significance level of the Mann-Whitney U test")
	c.Flags().Float64Var(&f.confidence, "confidence", o.Confidence, "confidence level of the intervals shown")
	c.Flags().StringVar(&f.tool, "tool", "auto", "input format: "+strings.Join(perf.Formats, ", "))
	c.Flags().StringVar(&f.baseline, "baseline", "", "compare against the baseline stored for `BRANCH`")
	c.Flags().StringVar(&f.saveBaseline, "save-baseline", "", "store the new results as the baseline of `BRANCH`")
	c.Flags().StringVar(&f.revision, "revision", "", "commit recorded with --save-baseline (default: git HEAD when available)")
	c.Flags().StringVar(&f.storeDir, "store", store.DefaultDir, "store `DIR` for baselines")
}

func (f *perfFlags) options() (perf.Options, error) {
	o := perf.Options{Threshold: f.threshold, Alpha: f.alpha, Confidence: f.confidence}
	if err := o.Validate(); err != nil {
		return o, usageError("%v", err)
	}
	return o, nil
}

func (a *app) perfCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "perf",
		Short: "Detect performance regressions with statistics",
		Long: `perf compares benchmark results with benchstat's statistics (median,
95% confidence interval, Mann-Whitney U test at alpha 0.05). A benchmark
fails the gate only when its change is significant, in the worse direction
for its unit (ns/op, B/op lower is better; MB/s higher), and larger than
--threshold percent. Improvements and smaller changes pass.

Inputs, detected by content (or forced with --tool): Go benchmark output,
github-action-benchmark's custom JSON (customSmallerIsBetter,
customBiggerIsBetter) and the tool outputs it reads (cargo, benchmarkjs,
benchmarkluau, catch2, pytest, googlecpp, jmh, julia, benchmarkdotnet,
cargo-criterion), its stored history data.js (the last 10 commits of each
benchmark make the sample: a ready baseline), and plain "name value unit"
lines.`,
		Example: `  go test -run '^$' -bench . -count 10 > new.txt
  shipgate perf compare old.txt new.txt --threshold 5
  shipgate perf run --count 10 --save-baseline main -- go test -run '^$' -bench .
  shipgate perf run --count 10 --baseline main -- go test -run '^$' -bench .`,
	}
	c.AddCommand(a.perfCompareCmd(), a.perfRunCmd())
	return c
}

func (a *app) perfCompareCmd() *cobra.Command {
	var f perfFlags
	c := &cobra.Command{
		Use:   "compare BASE NEW | compare --baseline BRANCH NEW",
		Short: "Compare two sets of benchmark results",
		Example: `  shipgate perf compare old.txt new.txt
  shipgate perf compare --tool customBiggerIsBetter base.json new.json --json
  shipgate perf compare --baseline main new.txt --threshold 3
  shipgate perf compare old.txt new.txt --save-baseline main`,
		RunE: func(c *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			ctx := c.Context()
			var base, nw *perf.Set
			switch {
			case f.baseline != "" && len(args) == 1:
				if base, err = loadBaseline(ctx, f.storeDir, f.baseline); err != nil {
					return err
				}
				nw, err = readBench(args[0], f.tool)
			case f.baseline == "" && len(args) == 2:
				if base, err = readBench(args[0], f.tool); err != nil {
					return err
				}
				nw, err = readBench(args[1], f.tool)
			default:
				return usageError("want BASE NEW, or --baseline BRANCH NEW (see 'shipgate perf compare --help')")
			}
			if err != nil {
				return err
			}
			a.printWarnings(base, nw)
			return a.perfFinish(ctx, &f, o, base, nw)
		},
	}
	f.register(c)
	return c
}

func (a *app) perfRunCmd() *cobra.Command {
	var f perfFlags
	var count int
	var interleave, out, baseOut string
	c := &cobra.Command{
		Use:   "run [flags] -- CMD [ARGS...]",
		Short: "Run a benchmark command several times and compare or record its results",
		Long: `run executes CMD --count times and reads each run's standard output as
benchmark results. With --interleave BASECMD it alternates baseline and
current runs (base, new, new, base, ...) so drift of the machine (heat,
noisy neighbours) falls on both sides alike, then compares them. With
--baseline BRANCH it compares against the stored baseline. With
--save-baseline BRANCH it stores the results.`,
		Example: `  shipgate perf run --count 10 --save-baseline main -- go test -run '^$' -bench .
  shipgate perf run --count 10 --baseline main -- go test -run '^$' -bench .
  shipgate perf run --count 10 --interleave './bench-old.sh' -- ./bench-new.sh
  shipgate perf run --count 5 --out new.txt -- ./bench.sh`,
		RunE: func(c *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return usageError("want a benchmark command after -- (see 'shipgate perf run --help')")
			}
			if count < 1 {
				return usageError("--count %d must be at least 1", count)
			}
			if interleave != "" && f.baseline != "" {
				return usageError("use --interleave or --baseline, not both")
			}
			ctx := c.Context()
			var base *perf.Set
			if f.baseline != "" {
				if base, err = loadBaseline(ctx, f.storeDir, f.baseline); err != nil {
					return err
				}
			}
			nw := perf.NewSet()
			if interleave != "" {
				base = perf.NewSet()
			}
			baseCmd := []string{"sh", "-c", interleave}
			for i := range count {
				// ABBA order: even rounds run base first, odd rounds
				// new first, so a linear drift cancels out.
				order := []bool{false, true}
				if i%2 == 1 {
					order = []bool{true, false}
				}
				for _, isNew := range order {
					if !isNew && interleave == "" {
						continue
					}
					cmd, dst, label := args, nw, "new"
					if !isNew {
						cmd, dst, label = baseCmd, base, "base"
					}
					fmt.Fprintf(a.stderr, "shipgate perf: run %d/%d (%s): %s\n", i+1, count, label, strings.Join(cmd, " "))
					set, err := a.runBench(ctx, cmd, fmt.Sprintf("%s run %d", label, i+1), f.tool)
					if err != nil {
						return err
					}
					dst.Merge(set)
				}
			}
			if out != "" {
				if err := writeGoBench(out, nw); err != nil {
					return err
				}
			}
			if baseOut != "" && base != nil {
				if err := writeGoBench(baseOut, base); err != nil {
					return err
				}
			}
			a.printWarnings(nw)
			if base == nil {
				// Nothing to compare against: record only.
				if err := a.saveBaseline(ctx, &f, nw); err != nil {
					return err
				}
				r := &gate.Report{Gate: "perf", Verdict: gate.Skipped,
					Reason:  fmt.Sprintf("recorded %d benchmark series (%d samples); nothing to compare against (use --baseline or --interleave)", nw.Len(), nw.Samples()),
					Metrics: []gate.Metric{{Name: "series", Value: float64(nw.Len())}, {Name: "samples", Value: float64(nw.Samples())}}}
				return a.emit(&f.report, r)
			}
			return a.perfFinish(ctx, &f, o, base, nw)
		},
	}
	f.register(c)
	c.Flags().IntVar(&count, "count", 10, "how many times to run the command")
	c.Flags().StringVar(&interleave, "interleave", "", "baseline command (run with sh -c), alternated with CMD")
	c.Flags().StringVar(&out, "out", "", "also write the new samples to `FILE` in Go benchmark format")
	c.Flags().StringVar(&baseOut, "base-out", "", "with --interleave, write the baseline samples to `FILE`")
	return c
}

// perfFinish compares, prints, saves the baseline when asked and emits.
func (a *app) perfFinish(ctx context.Context, f *perfFlags, o perf.Options, base, nw *perf.Set) error {
	cmp := perf.Compare(base, nw, o)
	r := cmp.Report()
	if !f.report.json && f.report.format == "text" {
		if err := cmp.WriteTable(a.stdout); err != nil {
			return err
		}
		fmt.Fprintln(a.stdout)
	}
	if err := a.saveBaseline(ctx, f, nw); err != nil {
		return err
	}
	return a.emit(&f.report, r)
}

func (a *app) saveBaseline(ctx context.Context, f *perfFlags, s *perf.Set) error {
	if f.saveBaseline == "" {
		return nil
	}
	db, err := store.Open(ctx, f.storeDir)
	if err != nil {
		return asUsage(err)
	}
	defer db.Close()
	rev := f.revision
	if rev == "" {
		if out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output(); err == nil {
			rev = strings.TrimSpace(string(out))
		}
	}
	b := store.PerfBaseline{Branch: f.saveBaseline, SavedAt: time.Now(), Revision: rev}
	for _, sr := range s.Series() {
		b.Series = append(b.Series, store.PerfSeries{Pkg: sr.Pkg, Name: sr.Name, Unit: sr.Unit, Better: int(sr.Better), Exact: sr.Exact, Values: sr.Values})
	}
	if err := db.PerfBaselines().Save(ctx, b); err != nil {
		return fmt.Errorf("saving perf baseline: %w", err)
	}
	fmt.Fprintf(a.stderr, "shipgate perf: saved %d series as the baseline of %s\n", len(b.Series), f.saveBaseline)
	return nil
}

func loadBaseline(ctx context.Context, dir, branch string) (*perf.Set, error) {
	db, err := store.Open(ctx, dir)
	if err != nil {
		return nil, asUsage(err)
	}
	defer db.Close()
	b, err := db.PerfBaselines().Load(ctx, branch)
	if errors.Is(err, store.ErrNoBaseline) {
		return nil, usageError("%v in %s (save one with --save-baseline %s)", err, dir, branch)
	}
	if err != nil {
		return nil, err
	}
	s := perf.NewSet()
	for _, sr := range b.Series {
		for _, v := range sr.Values {
			x := s.Add(perf.Key{Pkg: sr.Pkg, Name: sr.Name, Unit: sr.Unit}, v, perf.Better(sr.Better), diag.Pos{File: "baseline " + branch})
			x.Exact = sr.Exact
		}
	}
	return s, nil
}

// readBench reads a benchmark file, or every regular file of a directory
// (sorted by name), merged into one set.
func readBench(path, tool string) (*perf.Set, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, usageError("%v", err)
	}
	files := []string{path}
	if fi.IsDir() {
		files = nil
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, usageError("%v", err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		sort.Strings(files)
		if len(files) == 0 {
			return nil, usageError("%s: no files in directory", path)
		}
	}
	set := perf.NewSet()
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, usageError("%v", err)
		}
		s, err := perf.Parse(file, data, tool)
		if err != nil {
			return nil, asUsage(err)
		}
		set.Merge(s)
	}
	return set, nil
}

// runBench runs one benchmark command and parses its standard output.
func (a *app) runBench(ctx context.Context, argv []string, label, tool string) (*perf.Set, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout = &out
	cmd.Stderr = a.stderr
	cmd.Stdin = nil
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, failed(fmt.Errorf("%s: %s exited with %v", label, argv[0], ee))
		}
		return nil, usageError("%s: %v", label, err)
	}
	s, err := perf.Parse(label, out.Bytes(), tool)
	if err != nil {
		return nil, asUsage(err)
	}
	return s, nil
}

func writeGoBench(path string, s *perf.Set) error {
	var b strings.Builder
	s.WriteGo(&b)
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	}); err != nil {
		return asUsage(fmt.Errorf("writing %s: %w", path, err))
	}
	return nil
}

func (a *app) printWarnings(sets ...*perf.Set) {
	for _, s := range sets {
		for _, w := range s.Warnings {
			fmt.Fprintf(a.stderr, "shipgate perf: warning: %s\n", w)
		}
	}
}
