package main

import "github.com/spf13/cobra"

func (a *app) sbomCmd() *cobra.Command {
	return notYet("sbom", "Write a CycloneDX or SPDX software bill of materials")
}
