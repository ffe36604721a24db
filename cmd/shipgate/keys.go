package main

import "github.com/spf13/cobra"

func (a *app) keysCmd() *cobra.Command {
	return notYet("keys", "Generate signing keys")
}
