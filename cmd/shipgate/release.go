package main

import "github.com/spf13/cobra"

func (a *app) releaseCmd() *cobra.Command {
	return notYet("release", "Cut a release: version, changelog, archives, checksums, signatures, provenance")
}
