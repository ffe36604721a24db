package main

import "github.com/spf13/cobra"

func (a *app) testsCmd() *cobra.Command {
	return notYet("tests", "Read JUnit test reports and find flaky tests")
}
