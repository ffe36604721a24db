package secrets

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/atomicfile"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
)

// Options are the secrets gate's inputs; the CLI flags map onto them.
type Options struct {
	// Path is the directory or file to scan, or the repository for Git.
	Path string
	// Git, when set, scans the git history of this range instead of files
	// ("HEAD" for all of HEAD's history, "main..HEAD" for a branch).
	Git string
	// Stdin, when set, is scanned instead of files.
	Stdin io.Reader
	// ConfigPath is a gitleaks TOML config ("" for the built-in rules).
	ConfigPath string
	// BaselinePath is a detect-secrets .secrets.baseline; secrets it lists
	// do not fail the gate.
	BaselinePath string
	// UpdateBaseline writes every current secret to BaselinePath.
	UpdateBaseline bool
	// Scan tunes the directory walk.
	Scan ScanOptions
	// Now stamps an updated baseline (default time.Now, or
	// SOURCE_DATE_EPOCH when set).
	Now func() time.Time
}

// Result is what a scan found.
type Result struct {
	Mode     string    `json:"mode"` // "dir", "git" or "stdin"
	Target   string    `json:"target"`
	Rules    int       `json:"rules"`
	Stats    Stats     `json:"stats"`
	Findings []Finding `json:"findings"`
	// New counts findings the baseline does not list.
	New int `json:"new"`
	// Baseline is the baseline used, "" without one.
	Baseline        string   `json:"baseline,omitempty"`
	BaselineUpdated bool     `json:"baseline_updated,omitempty"`
	Warnings        []string `json:"warnings,omitempty"`
	Elapsed         float64  `json:"-"`
}

// InputError is bad input (config, baseline, flags): exit 2 at the CLI.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Run scans as opts say and applies the baseline.
func Run(ctx context.Context, opts Options) (*Result, error) {
	t0 := time.Now()
	var cfg *Config
	var err error
	if opts.ConfigPath != "" {
		cfg, err = LoadConfig(opts.ConfigPath)
	} else {
		cfg, err = DefaultConfig()
	}
	if err != nil {
		return nil, &InputError{err}
	}
	var base *Baseline
	if opts.BaselinePath != "" {
		data, err := os.ReadFile(opts.BaselinePath)
		switch {
		case err == nil:
			if base, err = ParseBaseline(data, opts.BaselinePath); err != nil {
				return nil, &InputError{err}
			}
		case os.IsNotExist(err) && opts.UpdateBaseline:
			// Created below.
		default:
			return nil, &InputError{fmt.Errorf("baseline: %w", err)}
		}
	} else if opts.UpdateBaseline {
		return nil, &InputError{fmt.Errorf("--update-baseline needs --baseline FILE")}
	}

	d := NewDetector(cfg)
	res := &Result{Rules: len(cfg.Rules), Baseline: opts.BaselinePath, Warnings: cfg.Warnings}
	root := opts.Path
	if root == "" {
		root = "."
	}
	switch {
	case opts.Stdin != nil:
		res.Mode, res.Target = "stdin", "stdin"
		res.Findings, err = d.ScanReader(ctx, opts.Stdin, "stdin")
	case opts.Git != "":
		res.Mode, res.Target = "git", opts.Git
		res.Findings, res.Stats, err = d.ScanGit(ctx, root, opts.Git)
	default:
		res.Mode, res.Target = "dir", root
		scan := opts.Scan
		// Never report the baseline or the config themselves.
		for _, p := range []string{opts.BaselinePath, opts.ConfigPath} {
			if p == "" {
				continue
			}
			if rel, err := relTo(root, p); err == nil {
				scan.Skip = append(scan.Skip, rel)
			}
		}
		res.Findings, res.Stats, err = d.ScanDir(ctx, root, scan)
	}
	if err != nil {
		if os.IsNotExist(err) {
			return nil, &InputError{err}
		}
		return nil, err
	}
	for i := range res.Findings {
		if base.Known(res.Findings[i]) {
			res.Findings[i].Baselined = true
		} else {
			res.New++
		}
	}
	if opts.UpdateBaseline {
		now := opts.Now
		if now == nil {
			now = defaultNow
		}
		nb := base.Update(res.Findings, now())
		if base == nil || !base.SameResults(nb) {
			if err := atomicfile.Write(opts.BaselinePath, 0o644, nb.Write); err != nil {
				return nil, fmt.Errorf("writing baseline: %w", err)
			}
			res.BaselineUpdated = true
		}
	}
	res.Elapsed = time.Since(t0).Seconds()
	return res, nil
}

func defaultNow() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0)
		}
	}
	return time.Now()
}

func relTo(root, p string) (string, error) {
	ar, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	ap, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(ar, ap)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("outside")
	}
	return filepath.ToSlash(rel), nil
}

// Report turns a result into the gate's report: it fails when a secret is
// not in the baseline (unless the baseline was just updated to list it).
func (res *Result) Report() *gate.Report {
	// NoSource: the text output must not print the line under a finding,
	// which would print the secret.
	r := &gate.Report{Gate: "secrets", Data: res, NoSource: true}
	baselined := len(res.Findings) - res.New
	r.Metrics = []gate.Metric{
		{Name: "new secrets", Value: float64(res.New)},
		{Name: "baselined secrets", Value: float64(baselined)},
	}
	switch res.Mode {
	case "git":
		r.Metrics = append(r.Metrics, gate.Metric{Name: "commits scanned", Value: float64(res.Stats.Commits)})
	case "dir":
		r.Metrics = append(r.Metrics, gate.Metric{Name: "files scanned", Value: float64(res.Stats.Files)})
	}
	rules := map[string]bool{}
	for _, f := range res.Findings {
		if f.Baselined && !res.BaselineUpdated {
			continue
		}
		msg := fmt.Sprintf("%s: %s", shortDescription(f.Description, f.RuleID), f.Redacted)
		if f.Commit != "" {
			msg += fmt.Sprintf(" (commit %.8s by %s, %s)", f.Commit, f.Author, f.Date)
		}
		sev := diag.Error
		if res.BaselineUpdated {
			sev = diag.Info
		}
		props := map[string]any{}
		if f.Commit != "" {
			props["commit"], props["author"] = f.Commit, f.Author
		}
		if len(props) == 0 {
			props = nil
		}
		r.Add(gate.Finding{
			Diagnostic: diag.Diagnostic{
				Pos:      diag.Pos{File: f.File, Line: f.Line, Col: f.Column},
				Rule:     f.RuleID,
				Severity: sev,
				Message:  msg,
			},
			Fingerprint: fingerprint(f),
			Properties:  props,
		})
		if !rules[f.RuleID] {
			rules[f.RuleID] = true
			r.Rules = append(r.Rules, diag.Rule{ID: f.RuleID, Description: f.Description})
		}
	}
	switch {
	case res.BaselineUpdated:
		r.Verdict = gate.Pass
		r.Reason = fmt.Sprintf("baseline %s updated: %d secret(s) listed", res.Baseline, len(res.Findings))
	case res.New > 0:
		r.Verdict = gate.Fail
		r.Reason = fmt.Sprintf("%d new secret(s) found", res.New)
		if baselined > 0 {
			r.Reason += fmt.Sprintf(" (%d more in the baseline)", baselined)
		}
	case baselined > 0:
		r.Verdict = gate.Pass
		r.Reason = fmt.Sprintf("no new secrets (%d in the baseline)", baselined)
	default:
		r.Verdict = gate.Pass
		r.Reason = "no secrets found"
	}
	return r
}

// fingerprint identifies a finding across runs without revealing anything
// that helps guess the secret: a hash of the file, rule and the secret's hash.
func fingerprint(f Finding) string {
	return HashSecret(f.File + "\x00" + f.RuleID + "\x00" + f.hashed + "\x00" + f.Commit)[:32]
}

func shortDescription(desc, id string) string {
	if desc == "" {
		return id
	}
	if i := strings.Index(desc, " ("); i > 0 {
		desc = desc[:i]
	}
	if i := strings.Index(desc, ", "); i > 0 && i < 80 {
		desc = desc[:i]
	}
	if len(desc) > 100 {
		desc = desc[:100] + "…"
	}
	return strings.TrimSuffix(desc, ".")
}
