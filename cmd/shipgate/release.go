package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shipgate/shipgate/internal/release"
	"github.com/spf13/cobra"
)

func (a *app) releaseCmd() *cobra.Command {
	var (
		dryRun, noTag, keyless, asJSON bool
		pre, name, out, key, pwEnv     string
		repo, workflow                 string
		files, archives                []string
	)
	c := &cobra.Command{
		Use:   "release",
		Short: "Cut a release: version, changelog, archives, checksums, signatures, provenance",
		Long: `release computes the next version from the conventional commits since the
last vX.Y.Z tag (feat: minor, fix/perf: patch, breaking: major; --pre rc
for X.Y.Z-rc.N), writes the changelog, archives the build outputs given
with --files as tar.gz and zip (byte-for-byte reproducible: sorted entries,
mtimes from $SOURCE_DATE_EPOCH or the commit time, owner 0:0), SHA256SUMS,
a cosign-format signature for each artifact and for SHA256SUMS, and an SLSA
v1 provenance statement signed in a DSSE envelope, into OUT/<tag>/, then
tags the commit.

The private key is read from --key and decrypted with the passphrase in
$SHIPGATE_KEY_PASSWORD. Keyless signing (Fulcio/Rekor) needs the network
and is not available yet.`,
		Example: `  shipgate release --dry-run
  SHIPGATE_KEY_PASSWORD=... shipgate release --files bin/app --key cosign.key
  shipgate release --pre rc --files dist/app --key cosign.key --json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if keyless {
				return usageError("%v", release.ErrKeyless)
			}
			o := release.Options{
				Dir: repo, Name: name, Files: files, Formats: archives, Pre: pre, OutDir: out,
				DryRun: dryRun, Tag: !noTag, SourceDateEpoch: os.Getenv("SOURCE_DATE_EPOCH"),
				Workflow: workflow, InvocationID: os.Getenv("GITHUB_RUN_ID"), BuilderVersion: version,
			}
			if o.Workflow == "" {
				o.Workflow = os.Getenv("GITHUB_WORKFLOW_REF")
			}
			if key != "" && !dryRun {
				priv, err := os.ReadFile(key)
				if err != nil {
					return usageError("%v", err)
				}
				pw, err := keyPassword(pwEnv)
				if err != nil {
					return err
				}
				if o.Signer, err = release.LoadSigner(priv, pw); err != nil {
					return usageError("%s: %v", key, err)
				}
			} else if !dryRun && len(files) > 0 {
				fmt.Fprintln(a.stderr, "shipgate release: warning: no --key: artifacts, SHA256SUMS and provenance are not signed")
			}
			res, err := release.Build(c.Context(), o)
			if err != nil {
				return failed(err)
			}
			if asJSON {
				return printJSON(a.stdout, res)
			}
			printRelease(a.stdout, res)
			return nil
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print the next version and changelog; write and tag nothing")
	c.Flags().StringVar(&pre, "pre", "", "make a pre-release with this `LABEL` (rc, beta...): X.Y.Z-LABEL.N")
	c.Flags().StringSliceVar(&files, "files", nil, "build outputs to archive (files or folders; repeat or comma-separate)")
	c.Flags().StringSliceVar(&archives, "archive", []string{"tar.gz", "zip"}, "archive formats")
	c.Flags().StringVar(&name, "name", "", "project name in archive names (default: the repository folder)")
	c.Flags().StringVar(&out, "out", "", "output `DIR` (default: dist/release); the release goes to DIR/<tag>/")
	c.Flags().StringVar(&key, "key", "", "private key `FILE` from 'shipgate keys generate' (or cosign)")
	c.Flags().StringVar(&pwEnv, "password-env", defaultPasswordEnv, "environment `VARIABLE` holding the key's passphrase")
	c.Flags().BoolVar(&keyless, "keyless", false, "sign keylessly with Fulcio/Rekor (needs the network: not yet)")
	c.Flags().BoolVar(&noTag, "no-tag", false, "do not create the git tag")
	c.Flags().StringVar(&repo, "repo", ".", "git repository `DIR`")
	c.Flags().StringVar(&workflow, "workflow", "", "workflow named in the provenance (default: $GITHUB_WORKFLOW_REF)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the release as JSON")
	return c
}

func printRelease(w io.Writer, r *release.Result) {
	if r.Skipped != "" {
		fmt.Fprintf(w, "release: skipped — %s\n", r.Skipped)
		return
	}
	from := r.Previous
	if from == "" {
		from = "no previous release"
	}
	verb := "released"
	if r.DryRun {
		verb = "would release"
	}
	ignored := ""
	if r.Ignored > 0 {
		ignored = fmt.Sprintf(", %d not conventional and ignored (see 'shipgate commits check')", r.Ignored)
	}
	fmt.Fprintf(w, "release: %s %s (%s bump: %s; %d commits since %s%s)\n\n%s", verb, r.Version, r.Bump, r.Reason, r.Commits, from, ignored, r.Changelog)
	if len(r.Artifacts) > 0 || r.Notes != "" {
		fmt.Fprintf(w, "\nfiles in %s:\n", r.Dir)
		for _, a := range r.Artifacts {
			fmt.Fprintf(w, "  %s  sha256:%s\n", a.Name, a.SHA256)
			if a.Signature != "" {
				fmt.Fprintf(w, "  %s\n", a.Name+release.SignatureSuffix)
			}
		}
		sig := ""
		if r.Checksums != "" && len(r.Artifacts) > 0 && r.Artifacts[0].Signature != "" {
			sig = r.Checksums + release.SignatureSuffix
		}
		for _, p := range []string{r.Checksums, sig, r.Provenance, r.Notes} {
			if p != "" {
				fmt.Fprintf(w, "  %s\n", strings.TrimPrefix(p, r.Dir+string(os.PathSeparator)))
			}
		}
	}
	if r.Tagged {
		fmt.Fprintf(w, "tagged %s at %s\n", r.Version, r.Commit)
	}
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
