package main

import "github.com/spf13/cobra"

// notYet is a command that exists in the plan but is not built yet: it says
// so aloud and exits 2 rather than pretending to work.
func notYet(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:                use,
		Short:              short + " (not yet built)",
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			return usageError("%s is not built yet in this version of shipgate", c.CommandPath())
		},
	}
}
