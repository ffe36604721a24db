package main

import "github.com/spf13/cobra"

func (a *app) verifyCmd() *cobra.Command {
	return notYet("verify", "Verify a release's checksums, signatures and provenance")
}
