package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/shipgate/shipgate/internal/gate/commits"
	"github.com/shipgate/shipgate/internal/release"
	"github.com/spf13/cobra"
)

func (a *app) commitsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "commits",
		Short: "Check commit messages against Conventional Commits",
		Long: `commits checks commit messages against Conventional Commits 1.0.0:
"<type>[(scope)][!]: <description>", a blank line before the body, footers
such as "BREAKING CHANGE: ..." or "Refs: #12". Every problem is reported at
<commit>:<line>:<col> of the message. Merge commits are skipped; git's
Revert "..." messages are accepted.`,
		Example: `  shipgate commits check
  shipgate commits check --range origin/main..HEAD --types feat,fix,docs,chore
  shipgate commits check --message-file .git/COMMIT_EDITMSG   # commit-msg hook`,
	}
	c.AddCommand(a.commitsCheckCmd())
	return c
}

func (a *app) commitsCheckCmd() *cobra.Command {
	var (
		rf           reportFlags
		revRange     string
		types        []string
		requireScope bool
		repo         string
		messageFile  string
	)
	c := &cobra.Command{
		Use:   "check",
		Short: "Check the commits of a range (default: since the last vX.Y.Z tag)",
		Example: `  shipgate commits check
  shipgate commits check --range v1.2.0..HEAD --json
  shipgate commits check --message-file "$1"`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			opts := commits.Options{RequireScope: requireScope}
			for _, t := range types {
				if t = strings.TrimSpace(t); t != "" {
					opts.Types = append(opts.Types, t)
				}
			}
			if messageFile != "" {
				data, err := os.ReadFile(messageFile)
				if err != nil {
					return usageError("%v", err)
				}
				// git leaves "# ..." comment lines in the editor file.
				var keep []string
				for _, l := range strings.Split(string(data), "\n") {
					if !strings.HasPrefix(l, "#") {
						keep = append(keep, l)
					}
				}
				cm, ps := commits.Parse(strings.Join(keep, "\n"))
				cm.Hash = messageFile
				return a.emit(&rf, commits.Check(messageFile, []commits.Commit{cm}, [][]commits.Problem{ps}, opts))
			}
			ctx := c.Context()
			if revRange == "" {
				tags, err := release.Tags(ctx, repo)
				if err != nil {
					return usageError("%v", err)
				}
				if len(tags) > 0 {
					revRange = tags[0].Name + "..HEAD"
				}
			}
			cs, ps, err := commits.Log(ctx, repo, revRange)
			if err != nil {
				return usageError("%v", err)
			}
			r := commits.Check(revRange, cs, ps, opts)
			if len(cs) == 0 {
				r.Reason = fmt.Sprintf("no commits in %s", rangeLabel(revRange))
			}
			return a.emit(&rf, r)
		},
	}
	rf.register(c)
	c.Flags().StringVar(&revRange, "range", "", "commits to check, `BASE..HEAD` (default: since the last vX.Y.Z tag, or all)")
	c.Flags().StringSliceVar(&types, "types", nil, "allowed types, comma-separated (default "+strings.Join(commits.DefaultTypes, ",")+")")
	c.Flags().BoolVar(&requireScope, "require-scope", false, "require a scope on every commit")
	c.Flags().StringVar(&repo, "repo", ".", "git repository `DIR`")
	c.Flags().StringVar(&messageFile, "message-file", "", "check one message from `FILE` instead of git history (commit-msg hook)")
	return c
}

func rangeLabel(r string) string {
	if r == "" {
		return "HEAD"
	}
	return r
}
