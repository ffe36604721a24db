package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/gate/tests"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/spf13/cobra"
)

func (a *app) testsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "tests",
		Short: "Read JUnit test reports and find flaky tests",
		Long: `Test-report and flaky-test gates.

  tests report   read JUnit XML (any flavour), xUnit/NUnit/TRX or go test -json
                 output; exit 1 when a test failed or errored outside the
                 quarantine, or a quarantine entry expired
  tests flaky    run a test command several times (by default: once, then
                 only what failed) and classify every test as stable pass,
                 stable fail, flaky or new, with flip rates from the history
  tests history  flip rates per test from the store

The quarantine (.shipgate/quarantine.yml) lists known-flaky tests with an
owner, reason and expiry; their failures are reported but do not fail the
gate, and an expired entry fails it.`,
		Example: `  shipgate tests report target/surefire-reports/*.xml
  shipgate tests report _build/test/logs/*/junit_report.xml --quarantine .shipgate/quarantine.yml
  go test -json ./... > go-test.json; shipgate tests report go-test.json --record
  shipgate tests flaky --runs 5 -- go test -json ./...
  shipgate tests flaky --junit '_build/test/eunit-reports/*.xml' -- rebar3 eunit`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("missing subcommand: report, flaky or history (see 'shipgate tests --help')")
			}
			return usageError("unknown subcommand %q (want report, flaky or history)", args[0])
		},
	}
	c.AddCommand(a.testsReportCmd(), a.testsFlakyCmd(), a.testsHistoryCmd())
	return c
}

// expandArgs expands glob patterns that match no file literally (as a
// workflow input "reports/*.xml" arrives unexpanded).
func expandArgs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if _, err := os.Stat(a); err == nil || !strings.ContainsAny(a, "*?[") {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(a)
		if err != nil {
			return nil, fmt.Errorf("bad pattern %q: %v", a, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("no file matches %s", a)
		}
		out = append(out, m...)
	}
	return out, nil
}

func loadQuarantine(path string) (*tests.Quarantine, error) {
	if path == "" {
		return tests.LoadQuarantine(tests.DefaultQuarantineFile, true)
	}
	return tests.LoadQuarantine(path, false)
}

// runIdentity names the code a run tested: commit and branch from the CI
// environment, else from git.
func runIdentity(ctx context.Context) (commit, branch string) {
	commit, branch = os.Getenv("GITHUB_SHA"), os.Getenv("GITHUB_REF_NAME")
	if commit == "" {
		if out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output(); err == nil {
			commit = strings.TrimSpace(string(out))
		}
	}
	if branch == "" {
		if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--abbrev-ref", "HEAD").Output(); err == nil {
			branch = strings.TrimSpace(string(out))
		}
	}
	return commit, branch
}

func (a *app) testsReportCmd() *cobra.Command {
	var (
		flags      reportFlags
		quarantine string
		record     bool
		storeDir   string
	)
	c := &cobra.Command{
		Use:   "report FILES...",
		Short: "Check test reports: fail on failed or errored tests outside the quarantine",
		Long: `Read test reports and fail (exit 1) when a test failed or errored, unless a
quarantine entry covers it; an expired quarantine entry fails too.

Formats, detected from the content: JUnit XML in the flavours tools write
(Maven Surefire with flaky re-runs, EUnit surefire, Common Test cth_surefire,
gotestsum, go-junit-report, pytest, Jest, PHPUnit, nested suites), xUnit.net
v2 XML, NUnit 3 XML, .NET TRX, and 'go test -json' streams. Reports are
streamed, so huge files are fine. Unreadable or malformed input exits 2 with
file:line:col. --record adds the results to the store's history.`,
		Example: `  shipgate tests report target/surefire-reports/*.xml
  shipgate tests report 'build/test-results/**/*.xml' --markdown summary.md
  shipgate tests report junit.xml --quarantine .shipgate/quarantine.yml --json
  go test -json ./... > go-test.json; shipgate tests report go-test.json --record`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := expandArgs(args)
			if err != nil {
				return asUsage(err)
			}
			q, err := loadQuarantine(quarantine)
			if err != nil {
				return asUsage(err)
			}
			rep, err := tests.ReadFiles(files...)
			if err != nil {
				return asUsage(err)
			}
			r := tests.Evaluate(rep, q, time.Now())
			if record {
				if err := recordReport(cmd.Context(), storeDir, rep, strings.Join(files, " ")); err != nil {
					fmt.Fprintf(a.stderr, "shipgate: warning: history not recorded: %v\n", err)
				}
			}
			return a.emit(&flags, r)
		},
	}
	flags.register(c)
	c.Flags().StringVar(&quarantine, "quarantine", "", "quarantine `FILE` (default .shipgate/quarantine.yml when it exists)")
	c.Flags().BoolVar(&record, "record", false, "add the results to the test history in the store")
	c.Flags().StringVar(&storeDir, "store", store.DefaultDir, "store `DIR` for --record")
	return c
}

func recordReport(ctx context.Context, dir string, rep *tests.Report, command string) error {
	db, err := store.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	commit, branch := runIdentity(ctx)
	var attempts []store.TestAttempt
	n := map[string]int{}
	for _, c := range rep.Cases {
		id := c.ID()
		n[id]++
		attempts = append(attempts, store.TestAttempt{TestID: id, Attempt: n[id], Result: string(c.Result), Seconds: c.Seconds})
	}
	_, err = store.NewTestHistory(db).Record(ctx, store.TestRun{StartedAt: time.Now(), Commit: commit, Branch: branch, Command: command, Mode: "report"}, attempts)
	return err
}

// historyWindow is how many recent runs flip rates look at.
const historyWindow = 50

func (a *app) testsFlakyCmd() *cobra.Command {
	var (
		flags       reportFlags
		runs        int
		mode        string
		junitGlob   string
		quarantine  string
		storeDir    string
		noHistory   bool
		failOnFlaky bool
		timeout     time.Duration
		dir         string
		verbose     bool
	)
	c := &cobra.Command{
		Use:   "flaky [flags] -- CMD [ARGS...]",
		Short: "Run a test command several times and classify flaky tests",
		Long: `Run a test command and classify each test: stable pass, stable fail, flaky
(passed and failed on the same code) or new (never seen in the history).

Results come from the JUnit files the command writes (--junit GLOB; files
older than the run are ignored) or from 'go test -json' on its output.

--mode rerun-failures (the default) runs the suite once, then re-runs only
the tests that failed, each up to --runs times in all, stopping a test as
soon as it passes. It knows how to select tests for: go test (-run),
rebar3 eunit (--module), rebar3 ct (--suite --case) and pytest (node IDs);
for other commands it says so and runs the full suite --runs times, as
--mode full does.

Each run's results go to the store (.shipgate/) so flip rates show
flakiness over time even when one run looks clean (--no-history to skip).
A stable failure fails the gate (exit 1); flaky tests warn unless
--fail-on-flaky. The output JUnit report is --junit-out.`,
		Example: `  shipgate tests flaky -- go test -json ./...
  shipgate tests flaky --runs 10 --mode full -- go test -json ./internal/...
  shipgate tests flaky --junit '_build/test/eunit-reports/*.xml' -- rebar3 eunit
  shipgate tests flaky --junit '_build/test/logs/*/junit_report.xml' -- rebar3 ct
  shipgate tests flaky --junit 'report.xml' -- pytest --junitxml=report.xml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runs < 1 || runs > 1000 {
				return usageError("--runs %d: want 1 to 1000", runs)
			}
			m := tests.Mode(mode)
			if m != tests.ModeRerunFailures && m != tests.ModeFull {
				return usageError("--mode %q: want rerun-failures or full", mode)
			}
			if _, err := exec.LookPath(args[0]); err != nil {
				return usageError("cannot run %s: %v", args[0], err)
			}
			q, err := loadQuarantine(quarantine)
			if err != nil {
				return asUsage(err)
			}
			runner := tests.NewCommandRunner(args, dir, junitGlob)
			runner.Timeout = timeout
			if verbose {
				runner.Output = a.stderr
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			var hist *store.TestHistory
			if !noHistory {
				db, err := store.Open(ctx, storeDir)
				if err != nil {
					return asUsage(err)
				}
				defer db.Close()
				hist = store.NewTestHistory(db)
			}
			opt := tests.FlakyOptions{Runs: runs, Mode: m}
			if hist != nil {
				opt.Known = func(ids []string) (map[string]bool, error) { return hist.Known(ctx, ids) }
			}
			started := time.Now()
			res, err := tests.Detect(ctx, runner, opt)
			if err != nil {
				if errors.Is(err, tests.ErrNoResults) {
					return usageError("%v (with --junit %q)", err, junitGlob)
				}
				return asUsage(err)
			}
			ropt := tests.FlakyReportOptions{Quarantine: q, Now: time.Now(), FailOnFlaky: failOnFlaky, Command: strings.Join(args, " ")}
			if hist != nil {
				commit, branch := runIdentity(ctx)
				var attempts []store.TestAttempt
				for i, rep := range res.PerAttempt {
					for _, c := range rep.Cases {
						attempts = append(attempts, store.TestAttempt{TestID: c.ID(), Attempt: i + 1, Result: string(c.Result), Seconds: c.Seconds})
					}
				}
				if _, err := hist.Record(ctx, store.TestRun{StartedAt: started, Commit: commit, Branch: branch, Command: ropt.Command, Mode: string(res.Mode)}, attempts); err != nil {
					fmt.Fprintf(a.stderr, "shipgate: warning: history not recorded: %v\n", err)
				} else if stats, err := hist.Stats(ctx, historyWindow); err == nil {
					ropt.History = map[string]tests.History{}
					for id, s := range stats {
						ropt.History[id] = tests.History{FlipRate: s.FlipRate(), Runs: s.Runs}
					}
				}
			}
			return a.emit(&flags, tests.FlakyReport(res, ropt))
		},
	}
	// The report flags, with --junit taken by the input glob.
	c.Flags().BoolVar(&flags.json, "json", false, "print the report as JSON (same as --format json)")
	c.Flags().StringVar(&flags.format, "format", "text", "output format: text, json, markdown, sarif, junit")
	c.Flags().StringVar(&flags.sarif, "sarif", "", "also write a SARIF 2.1.0 report to `FILE`")
	c.Flags().StringVar(&flags.junit, "junit-out", "", "also write a JUnit XML report to `FILE`")
	c.Flags().StringVar(&flags.markdown, "markdown", "", "also write the Markdown summary to `FILE`")
	c.Flags().IntVar(&runs, "runs", 5, "attempts per test (full mode: suite runs)")
	c.Flags().StringVar(&mode, "mode", string(tests.ModeRerunFailures), "rerun-failures or full")
	c.Flags().StringVar(&junitGlob, "junit", "", "read results from JUnit files matching `GLOB` (** allowed) instead of go test -json output")
	c.Flags().StringVar(&quarantine, "quarantine", "", "quarantine `FILE` (default .shipgate/quarantine.yml when it exists)")
	c.Flags().StringVar(&storeDir, "store", store.DefaultDir, "store `DIR` for the test history")
	c.Flags().BoolVar(&noHistory, "no-history", false, "do not read or record the test history")
	c.Flags().BoolVar(&failOnFlaky, "fail-on-flaky", false, "fail the gate on flaky tests (default: warn)")
	c.Flags().DurationVar(&timeout, "timeout", 0, "time limit per attempt (0: none)")
	c.Flags().StringVar(&dir, "dir", "", "run the command in `DIR`")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the command's output on stderr")
	return c
}

func (a *app) testsHistoryCmd() *cobra.Command {
	var (
		storeDir string
		last     int
		asJSON   bool
		all      bool
	)
	c := &cobra.Command{
		Use:   "history",
		Short: "Show flip rates per test from the stored history",
		Example: `  shipgate tests history
  shipgate tests history --runs 20 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(filepath.Join(storeDir, "shipgate.db")); err != nil {
				return usageError("no store at %s (run 'shipgate tests flaky' or 'tests report --record' first)", storeDir)
			}
			ctx := cmd.Context()
			db, err := store.Open(ctx, storeDir)
			if err != nil {
				return asUsage(err)
			}
			defer db.Close()
			h := store.NewTestHistory(db)
			stats, err := h.Stats(ctx, last)
			if err != nil {
				return err
			}
			n, _ := h.RunCount(ctx)
			type row struct {
				Test     string  `json:"test"`
				Runs     int     `json:"runs"`
				Attempts int     `json:"attempts"`
				Fails    int     `json:"fails"`
				Flips    int     `json:"flips"`
				FlipRate float64 `json:"flip_rate"`
				Last     string  `json:"last_result"`
			}
			var rows []row
			for _, id := range slices.Sorted(maps.Keys(stats)) {
				s := stats[id]
				if !all && s.Flips == 0 && s.Fails == 0 {
					continue
				}
				rows = append(rows, row{id, s.Runs, s.Attempts, s.Fails, s.Flips, s.FlipRate(), s.LastResult})
			}
			slices.SortStableFunc(rows, func(x, y row) int {
				switch {
				case x.FlipRate > y.FlipRate:
					return -1
				case x.FlipRate < y.FlipRate:
					return 1
				}
				return strings.Compare(x.Test, y.Test)
			})
			if asJSON {
				if rows == nil {
					rows = []row{}
				}
				return testsWriteJSON(a.stdout, map[string]any{"runs": n, "tests": rows})
			}
			fmt.Fprintf(a.stdout, "%d runs recorded; %d tests with failures or flips\n", n, len(rows))
			for _, r := range rows {
				fmt.Fprintf(a.stdout, "  %-60s flip rate %.2f  (%d flips, %d fails in %d attempts over %d runs; last %s)\n", r.Test, r.FlipRate, r.Flips, r.Fails, r.Attempts, r.Runs, r.Last)
			}
			return nil
		},
	}
	c.Flags().StringVar(&storeDir, "store", store.DefaultDir, "store `DIR`")
	c.Flags().IntVar(&last, "runs", historyWindow, "look at the last `N` runs (0: all)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&all, "all", false, "list every test, not just those that failed or flipped")
	return c
}

func testsWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
