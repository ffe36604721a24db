package main

import "github.com/spf13/cobra"

func (a *app) lintCmd() *cobra.Command {
	return notYet("lint", "Review workflows, Dockerfiles and Kubernetes manifests")
}
