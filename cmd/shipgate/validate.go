package main

import "github.com/spf13/cobra"

func (a *app) validateCmd() *cobra.Command {
	return notYet("validate", "validate")
}
