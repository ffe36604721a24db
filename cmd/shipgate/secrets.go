package main

import "github.com/spf13/cobra"

func (a *app) secretsCmd() *cobra.Command {
	return notYet("secrets", "Scan files, git history or stdin for secrets")
}
