package main

import (
	"github.com/shipgate/shipgate/internal/gate/license"
	"github.com/spf13/cobra"
)

func (a *app) licensesCmd() *cobra.Command {
	var (
		flags        reportFlags
		allow, deny  []string
		policyFile   string
		unknown      string
		disagreement string
		goModCache   string
	)
	c := &cobra.Command{
		Use:   "licenses [PATH]",
		Short: "Check dependency licenses against a policy",
		Long: `Find the license of every locked dependency under PATH (default .) where a
build leaves it: _build/default/lib/<app> and deps/<app> (Hex: rebar3, mix),
node_modules/<name> (npm), vendor/<module> and the Go module cache (go.mod),
vendor/<crate> and Cargo's registry sources (Cargo.lock).

Declared licenses are read from package metadata (hex_metadata.config,
ebin/<app>.app, src/<app>.app.src, mix.exs, package.json, Cargo.toml);
license files (LICENSE*, COPYING*) are classified to SPDX IDs with
github.com/google/licensecheck. A package whose declared license and license
text disagree is flagged.

Policy: --allow and --deny take SPDX IDs (comma-separated or repeated); an
SPDX expression passes when an OR alternative, or every AND part, passes.
--policy licenses.yml holds the same lists plus per-package exceptions (each
with a reason) and what unknown licenses and disagreements do (warn, fail or
ignore):

  allow: [MIT, Apache-2.0, BSD-3-Clause, ISC]
  deny: [GPL-3.0-only, AGPL-3.0-only]
  unknown: warn
  disagreement: warn
  exceptions:
    - package: jsx
      reason: test-only dependency

Exit codes: 0 pass or warnings, 1 a denied or unallowed license (or a
failing unknown/disagreement), 2 bad input.`,
		Example: `  shipgate licenses --allow MIT,Apache-2.0,BSD-3-Clause,ISC
  shipgate licenses --deny GPL-3.0-only,AGPL-3.0-only --markdown licenses.md
  shipgate licenses services/api --policy licenses.yml --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := rootArg(args)
			var pol license.Policy
			if policyFile != "" {
				p, err := license.LoadPolicy(policyFile)
				if err != nil {
					return asUsage(err)
				}
				pol = *p
			}
			pol.Allow = append(pol.Allow, allow...)
			pol.Deny = append(pol.Deny, deny...)
			if unknown != "" {
				pol.Unknown = unknown
			}
			if disagreement != "" {
				pol.Disagreement = disagreement
			}
			if err := pol.Validate(); err != nil {
				return usageError("%v", err)
			}
			inv, err := scanInventory(root)
			if err != nil {
				return err
			}
			pkgs := license.Collect(inv, license.CollectOptions{Root: root, GoModCache: goModCache})
			return a.emit(&flags, license.Check(pkgs, pol))
		},
	}
	flags.register(c)
	c.Flags().StringSliceVar(&allow, "allow", nil, "allowed SPDX license `IDS` (comma-separated; repeatable)")
	c.Flags().StringSliceVar(&deny, "deny", nil, "denied SPDX license `IDS` (comma-separated; repeatable)")
	c.Flags().StringVar(&policyFile, "policy", "", "policy `FILE` (licenses.yml)")
	c.Flags().StringVar(&unknown, "unknown", "", "what a license not found does: warn (default), fail or ignore")
	c.Flags().StringVar(&disagreement, "disagreement", "", "what a declared/detected mismatch does: warn (default), fail or ignore")
	c.Flags().StringVar(&goModCache, "gomodcache", "", "Go module cache `DIR` (default $GOMODCACHE or ~/go/pkg/mod)")
	return c
}
