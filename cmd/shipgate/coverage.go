package main

import "github.com/spf13/cobra"

func (a *app) coverageCmd() *cobra.Command {
	return notYet("coverage", "Enforce coverage thresholds on Go, LCOV, Cobertura, JaCoCo and Erlang reports")
}
