package main

import "github.com/spf13/cobra"

func (a *app) planCmd() *cobra.Command {
	return notYet("plan", "plan")
}
