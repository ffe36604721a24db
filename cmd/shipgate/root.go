package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes, the same for every command.
const (
	exitOK       = 0 // success; warnings allowed
	exitFailed   = 1 // a gate failed, findings at error level, or a run failed
	exitBadUsage = 2 // bad usage or unreadable / invalid input
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit code out of a command. A command returns
// usageError for bad input (2) and failure for a failed gate or run (1).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError reports bad usage or unreadable input: exit 2.
func usageError(format string, args ...any) error {
	return &exitError{code: exitBadUsage, err: fmt.Errorf(format, args...)}
}

// asUsage wraps an input error so it exits 2.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: exitBadUsage, err: err}
}

// failed reports a failed gate or run: exit 1. The message (if any) has
// already been printed when err is nil.
func failed(err error) error { return &exitError{code: exitFailed, err: err} }

// app is what commands share: the standard streams.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// Main runs the CLI with the given arguments and streams and returns the exit
// code. Tests call it directly.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "shipgate: %v\n", ee.err)
		}
		return ee.code
	}
	// cobra's own errors: unknown command or flag, wrong argument count.
	fmt.Fprintf(stderr, "shipgate: %v\n", err)
	return exitBadUsage
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "shipgate",
		Short: "Run GitHub Actions workflows on the host, with release-safety gates built in",
		Long: `shipgate runs pipelines written in GitHub Actions workflow syntax on this
machine, and carries the release-safety gates (coverage, tests, perf,
secrets, deps, licenses, SBOM, lint, commits) as commands and as
built-in actions (uses: shipgate/<gate>@v1).

Exit codes: 0 success (warnings allowed), 1 a gate or run failed,
2 bad usage or unreadable input.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(
		// The workflow language.
		a.validateCmd(),
		a.planCmd(),
		a.graphCmd(),
		// Running workflows.
		a.runCmd(),
		a.runsCmd(), a.logsCmd(), a.rerunCmd(), a.gcCmd(),
		// The server.
		a.serveCmd(), a.dispatchCmd(), a.approveCmd(), a.usersCmd(),
		// Test-quality gates.
		a.coverageCmd(),
		a.testsCmd(),
		a.perfCmd(),
		// Security gates.
		a.secretsCmd(),
		a.depsCmd(),
		a.licensesCmd(),
		a.sbomCmd(),
		a.imageCmd(),
		// Review and releases.
		a.lintCmd(),
		a.commitsCmd(),
		a.releaseCmd(),
		a.keysCmd(),
		a.verifyCmd(),
		// Deployments.
		a.deployCmd(), a.doraCmd(),
		// Inside a kubernetes executor Pod (hidden).
		a.kubeRunnerCmd(),
	)
	return root
}

// isTerminal reports whether w is a terminal (for colour and progress).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
