package main

import (
	"github.com/shipgate/shipgate/internal/actions"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate/lint"
	"github.com/shipgate/shipgate/internal/workflow"
	"github.com/spf13/cobra"
)

func (a *app) lintCmd() *cobra.Command {
	var (
		flags     reportFlags
		config    string
		noScripts bool
		schemas   []string
	)
	c := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Review workflows, Dockerfiles and Kubernetes manifests",
		Long: `Lint reviews the files that say how software is built and deployed, all
offline, with positioned findings and rule IDs:

  workflows    every actionlint check and shipgate's support check, plus
               security rules: script injection from ${{ github.event.* }},
               pull_request_target checking out the head, actions not pinned
               to a commit SHA, secrets echoed to the log
  Dockerfiles  parsed with buildkit's parser; hadolint-style rules (DL3006,
               DL3007, DL3008, DL3009, DL3015, DL3020, DL3002, DL3025, DL4006)
               plus secrets in ENV/ARG, no USER, no HEALTHCHECK
  Kubernetes   schema of built-in kinds from the k8s.io/api types (strict:
               unknown fields are errors), resources, image tags, security
               context, probes, host namespaces, services matching no pods;
               CRDs and other kinds are skipped with a note, or validated
               against the CRDs / JSON Schemas given with --schemas

PATH is a file, a folder (walked; .git, node_modules, vendor and hidden
folders other than .github are skipped) or - for stdin (e.g. kustomize
build output). Files are recognised by content, not only by name.

Findings are silenced in place with a comment and a reason:
  # shipgate:ignore DL3008 versions come from the dated snapshot mirror
and rules are turned off or re-graded in a config file (--config):
  rules:
    kube/limits: off
    DL3008: info
  ignore: ["testdata/**"]

Every rule, with an example, is in docs/lint-rules.md.

Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 bad usage,
an unreadable path or a bad config file.`,
		Example: `  shipgate lint
  shipgate lint Dockerfile deploy/ .github/workflows
  kustomize build overlays/prod | shipgate lint -
  shipgate lint --config lint.yml --format sarif > lint.sarif
  shipgate lint --schemas crds/ deploy/
  shipgate lint --json k8s/ | jq '.data.rules'`,
		RunE: func(c *cobra.Command, args []string) error {
			opts := lint.Options{
				Stdin:   a.stdin,
				Schemas: schemas,
				// The full workflow check (actionlint's rules and shipgate's
				// support check) from internal/workflow.
				LintWorkflow: func(path string, src []byte) []diag.Diagnostic {
					_, ds := workflow.Parse(path, src, workflow.Options{NoScriptCheck: noScripts, KnownAction: actions.Known})
					return ds
				},
			}
			if config != "" {
				cfg, err := lint.LoadConfig(config)
				if err != nil {
					return asUsage(err)
				}
				opts.Config = cfg
			}
			report, err := lint.Run(args, opts)
			if err != nil {
				return asUsage(err)
			}
			return a.emit(&flags, report)
		},
	}
	flags.register(c)
	c.Flags().StringVar(&config, "config", "", "lint configuration `FILE` (rules to turn off or re-grade, paths to ignore)")
	c.Flags().StringSliceVar(&schemas, "schemas", nil, "folder or file of JSON Schemas and CRD manifests for Kubernetes kinds without a built-in schema (repeatable)")
	c.Flags().BoolVar(&noScripts, "no-script-checks", false, "do not run shellcheck and pyflakes on workflow run: scripts")
	return c
}
