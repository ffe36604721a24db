package main

import "github.com/spf13/cobra"

func (a *app) depsCmd() *cobra.Command {
	return notYet("deps", "Audit dependencies for known vulnerabilities")
}
