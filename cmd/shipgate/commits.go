package main

import "github.com/spf13/cobra"

func (a *app) commitsCmd() *cobra.Command {
	return notYet("commits", "Check commit messages against Conventional Commits")
}
