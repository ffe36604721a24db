package main

import (
	"errors"
	"fmt"

	"github.com/shipgate/shipgate/internal/gate/secrets"
	"github.com/spf13/cobra"
)

func (a *app) secretsCmd() *cobra.Command {
	var (
		rf      reportFlags
		opts    secrets.Options
		stdin   bool
		maxSize int64
	)
	c := &cobra.Command{
		Use:   "secrets [PATH]",
		Short: "Scan files, git history or stdin for secrets",
		Long: `Scan a directory (default "."), a git history range (--git) or stdin
(--stdin) for secrets with gitleaks-compatible rules: a keyword prefilter,
RE2 regexes, entropy thresholds, allowlists and inline allow comments
(gitleaks:allow, shipgate:allow, pragma: allowlist secret).

Findings show the file, line, column, rule and a redacted match; the secret
itself is never printed or stored. With --baseline, secrets listed in a
detect-secrets .secrets.baseline do not fail the gate; --update-baseline
writes every current secret to it.

The built-in rules are gitleaks v8.30.1's default configuration plus
shipgate's own; --config reads a gitleaks TOML config instead (use
[extend] useDefault = true in it to add to the built-in rules).`,
		Example: `  # Scan the working tree (honours .gitignore)
  shipgate secrets

  # Only secrets the baseline does not list fail the gate
  shipgate secrets --baseline .secrets.baseline

  # Accept the current secrets into the baseline
  shipgate secrets --baseline .secrets.baseline --update-baseline

  # Scan the commits a pull request adds; --git HEAD scans all history
  shipgate secrets --git origin/main..HEAD

  # Scan text on stdin, report as SARIF for code scanning
  git diff | shipgate secrets --stdin --format sarif

  # In a workflow:
  #   - uses: shipgate/secrets@v1
  #     with:
  #       baseline: .secrets.baseline`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Path = args[0]
			}
			if stdin {
				if opts.Git != "" {
					return usageError("--stdin and --git cannot be used together")
				}
				opts.Stdin = a.stdin
			}
			if maxSize < 0 {
				return usageError("--max-file-size must not be negative")
			}
			opts.Scan.MaxFileSize = maxSize << 20
			res, err := secrets.Run(cmd.Context(), opts)
			if err != nil {
				var ie *secrets.InputError
				if errors.As(err, &ie) {
					return asUsage(err)
				}
				return failed(err)
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(a.stderr, "shipgate: warning: %s\n", w)
			}
			return a.emit(&rf, res.Report())
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Git, "git", "", "scan the commits of git `RANGE` (origin/main..HEAD; HEAD for all history) in the PATH repository")
	f.BoolVar(&stdin, "stdin", false, "scan standard input")
	f.StringVar(&opts.BaselinePath, "baseline", "", "detect-secrets baseline `FILE` (.secrets.baseline) listing known secrets")
	f.BoolVar(&opts.UpdateBaseline, "update-baseline", false, "write every secret found to the --baseline file")
	f.StringVar(&opts.ConfigPath, "config", "", "gitleaks TOML config `FILE` to use instead of the built-in rules")
	f.BoolVar(&opts.Scan.NoGitignore, "no-gitignore", false, "also scan files .gitignore excludes")
	f.Int64Var(&maxSize, "max-file-size", 10, "skip files larger than `MiB` (0: no limit)")
	f.IntVar(&opts.Scan.Workers, "workers", 0, "files scanned at once (default: number of CPUs)")
	rf.register(c)
	return c
}
