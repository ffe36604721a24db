package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/shipgate/shipgate/internal/gate/coverage"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/spf13/cobra"
)

func (a *app) coverageCmd() *cobra.Command {
	var (
		flags    reportFlags
		min      string
		stretch  string
		patchMin string
		base     string
		diffFile string
		config   string
		modules  []string
		record   bool
		branch   string
		baseline string
		storeDir string
	)
	c := &cobra.Command{
		Use:   "coverage [FILES...]",
		Short: "Enforce coverage thresholds on Go, LCOV, Cobertura, JaCoCo and Erlang reports",
		Long: `Read coverage reports, merge them and check thresholds.

Formats are detected from the content: Go cover profiles (set, count,
atomic; several are merged), LCOV, Cobertura XML, JaCoCo XML, Erlang cover
pages (index.html and *.COVER.html / _build/test/cover/*/*.html) and the
table printed by 'rebar3 cover --verbose'.

Go profiles count statements (as 'go test -cover'); the other formats count
lines. --min fails the gate, --stretch only warns, --module NAME=MIN sets a
minimum for a package, directory, file, Erlang module or glob (critical
modules are listed first). --patch-min with --base REF checks the lines
changed since REF (git diff REF...HEAD plus staged and unstaged changes),
with diff_cover's semantics: only changed lines that the report knows as
executable are measured. A coverage.yml (--config) may hold the same
settings; flags win. --record stores the run for its branch and
--baseline BRANCH shows the change against that branch's last stored run
(total and per module).

Exit codes: 0 pass or warn, 1 a threshold missed, 2 unreadable input.`,
		Example: `  shipgate coverage coverage.out --min 80 --stretch 90
  shipgate coverage lcov.info cobertura.xml --min 75 --module src/auth=90
  shipgate coverage _build/test/cover/aggregate/*.html --min 70
  shipgate coverage coverage.out --patch-min 90 --base origin/main --markdown cov.md
  shipgate coverage --config coverage.yml coverage.out --json
  shipgate coverage coverage.out --record --branch main          # on main
  shipgate coverage coverage.out --baseline main --min 80         # on a PR: deltas vs main`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var opt coverage.Options
			var cfgPatch *float64
			if config != "" {
				cfg, err := coverage.LoadConfig(config)
				if err != nil {
					return asUsage(err)
				}
				if cfg.Min != nil {
					opt.Min = *cfg.Min
				}
				if cfg.Stretch != nil {
					opt.Stretch = *cfg.Stretch
				}
				cfgPatch = cfg.PatchMin
				opt.Modules = cfg.ModuleMins()
			}
			for _, f := range []struct {
				name string
				val  string
				dst  *float64
			}{{"--min", min, &opt.Min}, {"--stretch", stretch, &opt.Stretch}, {"--patch-min", patchMin, &opt.PatchMin}} {
				if f.val == "" {
					continue
				}
				v, err := coverage.ParsePercent(f.val)
				if err != nil {
					return usageError("%s: %v", f.name, err)
				}
				*f.dst = v
			}
			if patchMin == "" && cfgPatch != nil {
				opt.PatchMin = *cfgPatch
			}
			for _, m := range modules {
				mm, err := coverage.ParseModuleMin(m)
				if err != nil {
					return usageError("--module: %v", err)
				}
				replaced := false
				for i := range opt.Modules {
					if opt.Modules[i].Pattern == mm.Pattern {
						opt.Modules[i], replaced = mm, true
					}
				}
				if !replaced {
					opt.Modules = append(opt.Modules, mm)
				}
			}
			if len(args) == 0 {
				return usageError("no coverage reports given (see 'shipgate coverage --help')")
			}
			if opt.PatchMin > 0 && base == "" && diffFile == "" {
				return usageError("--patch-min needs --base REF (or --diff FILE)")
			}
			opt.Source = args[0]
			prof, err := coverage.ReadFiles(args...)
			if err != nil {
				var pe *coverage.ParseError
				if errors.As(err, &pe) {
					return usageError("%v", pe)
				}
				return asUsage(err)
			}
			switch {
			case diffFile != "":
				f, err := os.Open(diffFile)
				if err != nil {
					return asUsage(err)
				}
				ch, err := coverage.ParseDiff(f)
				f.Close()
				if err != nil {
					return usageError("%s: %v", diffFile, err)
				}
				opt.Patch = coverage.PatchCoverage(prof, ch)
				opt.Base = diffFile
			case base != "":
				ch, err := coverage.GitChanges(cmd.Context(), ".", base)
				if err != nil {
					return usageError("--base %s: %v", base, err)
				}
				opt.Patch = coverage.PatchCoverage(prof, ch)
				opt.Base = base
			}
			if opt.Stretch > 0 && opt.Min > opt.Stretch {
				fmt.Fprintf(a.stderr, "shipgate: warning: --stretch %v is below --min %v\n", opt.Stretch, opt.Min)
			}
			ctx := cmd.Context()
			commit, current := runIdentity(ctx)
			if branch == "" {
				branch = current
			}
			var hist *store.CoverageHistory
			if record || baseline != "" {
				db, err := store.Open(ctx, storeDir)
				if err != nil {
					return asUsage(err)
				}
				defer db.Close()
				hist = store.NewCoverageHistory(db)
			}
			if baseline != "" {
				last, ok, err := hist.Last(ctx, baseline)
				switch {
				case err != nil:
					return err
				case !ok:
					fmt.Fprintf(a.stderr, "shipgate: no stored coverage run for branch %s yet; no deltas (record one with --record on %s)\n", baseline, baseline)
				case last.Unit != string(prof.Unit()):
					fmt.Fprintf(a.stderr, "shipgate: the stored run of %s counts %s, this one %s; no deltas\n", baseline, last.Unit, prof.Unit())
				default:
					opt.Baseline = &coverage.Baseline{Ref: baseline, Total: last.Percent, Modules: last.Modules}
				}
			}
			r := coverage.Evaluate(prof, opt)
			if record {
				res := r.Data.(*coverage.Result)
				mods := map[string]float64{}
				for _, m := range res.Modules {
					mods[m.Name] = m.Pct
				}
				if branch == "" {
					return usageError("--record needs --branch (no git branch found)")
				}
				if _, err := hist.Record(ctx, store.CoverageRun{CreatedAt: time.Now(), Branch: branch, Commit: commit, Unit: string(res.Unit), Percent: res.Percent, Modules: mods}); err != nil {
					fmt.Fprintf(a.stderr, "shipgate: warning: coverage not recorded: %v\n", err)
				}
			}
			return a.emit(&flags, r)
		},
	}
	flags.register(c)
	c.Flags().StringVar(&min, "min", "", "fail when total coverage is below `PERCENT`")
	c.Flags().StringVar(&stretch, "stretch", "", "warn when total coverage is below `PERCENT`")
	c.Flags().StringArrayVar(&modules, "module", nil, "minimum for a module, `NAME=MIN` (package, directory, file, Erlang module or glob; repeatable)")
	c.Flags().StringVar(&patchMin, "patch-min", "", "fail when coverage of the changed lines is below `PERCENT`")
	c.Flags().StringVar(&base, "base", "", "git `REF` the patch is measured against (diff REF...HEAD + staged + unstaged)")
	c.Flags().StringVar(&diffFile, "diff", "", "read the changed lines from a unified diff `FILE` instead of git")
	c.Flags().StringVar(&config, "config", "", "read thresholds from a coverage.yml `FILE`")
	c.Flags().BoolVar(&record, "record", false, "store this run's coverage for its branch (see --baseline)")
	c.Flags().StringVar(&branch, "branch", "", "branch to record under (default: $GITHUB_REF_NAME or the git branch)")
	c.Flags().StringVar(&baseline, "baseline", "", "show deltas against the last stored run of `BRANCH`")
	c.Flags().StringVar(&storeDir, "store", store.DefaultDir, "store `DIR` for --record and --baseline")
	return c
}
