package main

import "github.com/spf13/cobra"

func (a *app) perfCmd() *cobra.Command {
	return notYet("perf", "Detect performance regressions with statistics")
}
