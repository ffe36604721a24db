package main

import "github.com/spf13/cobra"

func (a *app) licensesCmd() *cobra.Command {
	return notYet("licenses", "Check dependency licenses against a policy")
}
