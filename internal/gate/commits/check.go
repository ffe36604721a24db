package commits

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
)

// Log reads the commits of revRange ("A..B", a single revision, or "" for
// all of HEAD) from the git repository at dir, oldest first, and parses
// them.
func Log(ctx context.Context, dir, revRange string) ([]Commit, [][]Problem, error) {
	args := []string{"-c", "core.quotepath=off", "log", "--no-color", "--reverse", "--format=%H%x00%P%x00%B%x1e"}
	if revRange == "" {
		revRange = "HEAD"
	}
	args = append(args, revRange, "--")
	out, err := Git(ctx, dir, args...)
	if err != nil {
		return nil, nil, err
	}
	var cs []Commit
	var pss [][]Problem
	for _, rec := range strings.Split(out, "\x1e") {
		rec = strings.TrimLeft(rec, "\n")
		if rec == "" {
			continue
		}
		f := strings.SplitN(rec, "\x00", 3)
		if len(f) != 3 {
			return nil, nil, fmt.Errorf("git log: unexpected record %q", rec)
		}
		c, ps := Parse(f[2])
		c.Hash = f[0]
		c.Parents = strings.Fields(f[1])
		if len(c.Parents) > 1 {
			c.Merge, ps = true, nil
		}
		cs = append(cs, c)
		pss = append(pss, ps)
	}
	return cs, pss, nil
}

// Git runs the git binary in dir and returns its standard output; a failure
// carries git's own message.
func Git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return out.String(), nil
}

// Summary is the structured result of a check, for --json.
type Summary struct {
	Range   string   `json:"range"`
	Checked int      `json:"checked"`
	Merges  int      `json:"merges_skipped"`
	Invalid int      `json:"invalid"`
	Commits []Commit `json:"commits"`
}

// Check builds the gate report for parsed commits and their parse problems
// (as Log returns them), applying o.
func Check(revRange string, cs []Commit, parse [][]Problem, o Options) *gate.Report {
	r := &gate.Report{Gate: "commits"}
	r.Rules = []diag.Rule{
		{ID: "commits/header", Description: "The header must be <type>[(scope)][!]: <description>"},
		{ID: "commits/type", Description: "The type must be one of the allowed types"},
		{ID: "commits/type-case", Description: "Write the type in lowercase"},
		{ID: "commits/scope", Description: "The scope must be a non-empty noun in parentheses"},
		{ID: "commits/description", Description: "The description must not be empty"},
		{ID: "commits/blank-line", Description: "A blank line separates header and body"},
		{ID: "commits/breaking-uppercase", Description: "BREAKING CHANGE must be uppercase"},
		{ID: "commits/breaking-empty", Description: "A BREAKING CHANGE footer needs a description"},
		{ID: "commits/header-length", Description: "Keep the header within 100 characters"},
		{ID: "commits/fixup", Description: "fixup!/squash! commits should be squashed before merging"},
		{ID: "commits/empty", Description: "The message must not be empty"},
	}
	sum := Summary{Range: revRange, Commits: cs}
	for i, c := range cs {
		if c.Merge {
			sum.Merges++
			continue
		}
		sum.Checked++
		var ps []Problem
		if i < len(parse) {
			ps = append(ps, parse[i]...)
		}
		ps = append(ps, o.Validate(c)...)
		slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col)) })
		bad := false
		for _, p := range ps {
			d := diag.Diagnostic{
				Pos:      diag.Pos{File: c.Short(), Line: p.Line, Col: p.Col, EndCol: p.EndCol},
				Rule:     p.Rule,
				Severity: p.Severity,
				Message:  p.Message + " in \"" + clip(c.Header) + "\"",
			}
			if p.Severity == diag.Error {
				bad = true
			}
			r.Add(gate.Finding{Diagnostic: d, Fingerprint: p.Rule + ":" + c.Hash})
		}
		tc := gate.TestCase{Name: c.Short() + " " + c.Header, Class: "commits"}
		if bad {
			sum.Invalid++
			tc.Failure = "not a conventional commit"
		}
		r.Tests = append(r.Tests, tc)
	}
	r.Metrics = []gate.Metric{
		{Name: "checked", Value: float64(sum.Checked)},
		{Name: "invalid", Value: float64(sum.Invalid)},
		{Name: "merges skipped", Value: float64(sum.Merges)},
	}
	r.Data = sum
	switch {
	case sum.Checked == 0:
		r.Verdict = gate.Skipped
		r.Reason = "no commits to check in " + describe(revRange)
	case sum.Invalid > 0:
		r.Verdict = gate.Fail
		r.Reason = fmt.Sprintf("%d of %d commit(s) in %s are not conventional commits", sum.Invalid, sum.Checked, describe(revRange))
	case len(r.Findings) > 0:
		r.Verdict = gate.Warn
		r.Reason = fmt.Sprintf("%d commit(s) in %s follow Conventional Commits, with warnings", sum.Checked, describe(revRange))
	default:
		r.Verdict = gate.Pass
		r.Reason = fmt.Sprintf("%d commit(s) in %s follow Conventional Commits", sum.Checked, describe(revRange))
	}
	return r
}

func describe(revRange string) string {
	if revRange == "" {
		return "HEAD's history"
	}
	return revRange
}

func clip(s string) string {
	if len(s) > 72 {
		return s[:69] + "..."
	}
	return s
}
