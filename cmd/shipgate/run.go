package main

import "github.com/spf13/cobra"

func (a *app) runCmd() *cobra.Command {
	return notYet("run", "Run a workflow on this machine")
}
