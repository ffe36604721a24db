package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
	"github.com/shipgate/shipgate/internal/release"
	"github.com/spf13/cobra"
)

func (a *app) verifyCmd() *cobra.Command {
	var (
		rf         reportFlags
		key        string
		checksums  string
		provenance string
	)
	c := &cobra.Command{
		Use:   "verify ARTIFACT... [--key PUB]",
		Short: "Verify a release's checksums, signatures and provenance",
		Long: `verify checks each artifact offline: its SHA-256 against SHA256SUMS (beside
the first artifact unless --checksums), its signature ARTIFACT.sig and the
signature SHA256SUMS.sig with the public key, and, with --provenance, that
the DSSE-signed SLSA provenance is signed by the key and names the
artifact's digest. Any mismatch exits 1 and names the file that is wrong.
Without --key only digests and provenance subjects are checked and the
verdict is warn: signatures not checked.`,
		Example: `  shipgate verify dist/release/v1.2.0/*.tar.gz --key cosign.pub
  shipgate verify app_1.2.0.tar.gz app_1.2.0.zip --key cosign.pub --provenance app_1.2.0.intoto.jsonl --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var pub []byte
			if key != "" {
				var err error
				if pub, err = os.ReadFile(key); err != nil {
					return usageError("%v", err)
				}
			}
			checks, err := release.Verify(release.VerifyOptions{Artifacts: args, PublicKey: pub, Checksums: checksums, Provenance: provenance})
			if err != nil {
				return usageError("%s: %v", key, err)
			}
			return a.emit(&rf, verifyReport(checks))
		},
	}
	rf.register(c)
	c.Flags().StringVar(&key, "key", "", "public key `FILE` (PEM)")
	c.Flags().StringVar(&checksums, "checksums", "", "checksums `FILE` (default: SHA256SUMS beside the first artifact)")
	c.Flags().StringVar(&provenance, "provenance", "", "SLSA provenance `FILE` (.intoto.jsonl) to check")
	return c
}

func verifyReport(checks []release.Check) *gate.Report {
	r := &gate.Report{Gate: "verify", Data: checks}
	r.Rules = []diag.Rule{
		{ID: "verify/digest", Description: "The artifact's SHA-256 must match SHA256SUMS"},
		{ID: "verify/signature", Description: "The signature must verify with the key"},
		{ID: "verify/checksums-signature", Description: "SHA256SUMS must be signed by the key"},
		{ID: "verify/provenance", Description: "The provenance must be signed by the key"},
		{ID: "verify/provenance-subject", Description: "The provenance must name the artifact's digest"},
		{ID: "verify/checksums", Description: "SHA256SUMS must be readable"},
	}
	var bad []string
	skipped := 0
	for _, ch := range checks {
		tc := gate.TestCase{Name: ch.What + " " + ch.File, Class: "verify"}
		if ch.Skipped {
			tc.Skipped = ch.Message
			skipped++
		}
		if !ch.OK {
			r.Add(gate.Finding{Diagnostic: diag.Errorf(diag.Pos{File: ch.File}, "verify/"+ch.What, "%s", ch.Message)})
			tc.Failure = ch.Message
			bad = append(bad, ch.File)
		}
		r.Tests = append(r.Tests, tc)
	}
	r.Metrics = []gate.Metric{{Name: "checks", Value: float64(len(checks))}, {Name: "failed", Value: float64(len(bad))}}
	switch {
	case len(bad) > 0:
		r.Verdict = gate.Fail
		r.Reason = fmt.Sprintf("%d of %d checks failed: %s", len(bad), len(checks), strings.Join(dedupe(bad), ", "))
	case skipped > 0:
		r.Verdict = gate.Warn
		r.Reason = fmt.Sprintf("digests match, but %d signature check(s) were not made: pass --key", skipped)
	default:
		r.Verdict = gate.Pass
		r.Reason = fmt.Sprintf("all %d checks passed (digests, signatures%s)", len(checks), map[bool]string{true: ", provenance", false: ""}[hasProvenance(checks)])
	}
	return r
}

func hasProvenance(checks []release.Check) bool {
	for _, c := range checks {
		if c.What == "provenance" {
			return true
		}
	}
	return false
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
