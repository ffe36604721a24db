package main

import "github.com/spf13/cobra"

func (a *app) graphCmd() *cobra.Command {
	return notYet("graph", "graph")
}
