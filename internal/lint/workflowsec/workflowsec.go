// Package workflowsec holds the security rules for GitHub Actions workflows
// that users of this field expect beyond actionlint's checks: script
// injection through untrusted event data in run: scripts, pull_request_target
// (and workflow_run) workflows that check out the untrusted head, actions
// not pinned to a commit SHA, and secrets echoed into the log.
//
// The rules read the raw YAML through actionlint's parser and AST
// (github.com/rhysd/actionlint), so every finding carries the position of
// the YAML node, re-based onto the line inside a multi-line run: script.
// Untrusted inputs are recognised with actionlint's own expression parser
// and UntrustedInputChecker, extended with the workflow_run fields.
package workflowsec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/lint/ruleset"
)

// Rule IDs this package reports.
const (
	RuleScriptInjection = "workflow/script-injection"
	RulePRTargetHead    = "workflow/pr-target-checkout"
	RuleUnpinnedAction  = "workflow/unpinned-action"
	RuleSecretEcho      = "workflow/secret-echo"
	// RuleSyntax is a workflow that actionlint's parser rejects. Reported
	// only when the full workflow check (internal/workflow) is not wired in,
	// which reports the same problems itself.
	RuleSyntax = "workflow/syntax"
	helpURI    = "https://github.com/shipgate/shipgate/blob/main/docs/lint-rules.md"
)

// RuleInfo describes a rule: its ID, default severity and summary.
type RuleInfo = ruleset.Rule

// Rules lists every rule of this package with its default severity.
var Rules = ruleset.Set{
	{ID: RuleScriptInjection, Severity: diag.Error, Summary: "untrusted ${{ github.event.* }} data expanded inside a run: script"},
	{ID: RulePRTargetHead, Severity: diag.Error, Summary: "pull_request_target/workflow_run workflow checks out the untrusted head"},
	{ID: RuleUnpinnedAction, Severity: diag.Warning, Summary: "action or reusable workflow not pinned to a full commit SHA"},
	{ID: RuleSecretEcho, Severity: diag.Error, Summary: "secret printed to the log with echo/printf"},
	{ID: RuleSyntax, Severity: diag.Error, Summary: "the workflow does not parse"},
}

// DiagRules returns Rules in the form SARIF's rule table wants.
func DiagRules() []diag.Rule { return Rules.Diag(helpURI) }

func severity(id string) diag.Severity { return Rules.Severity(id) }

// Looks reports whether src looks like a GitHub Actions workflow: top-level
// `on:` and `jobs:` keys.
func Looks(src []byte) bool {
	var on, jobs bool
	for line := range strings.SplitSeq(string(src), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "on:"), strings.HasPrefix(line, `"on":`), strings.HasPrefix(line, "'on':"), strings.HasPrefix(line, "true:"):
			on = true
		case strings.HasPrefix(line, "jobs:"), strings.HasPrefix(line, `"jobs":`):
			jobs = true
		}
	}
	return on && jobs
}

type linter struct {
	file  string
	lines []string
	out   []diag.Diagnostic
}

func (l *linter) report(line, col, endCol int, rule, format string, args ...any) {
	l.out = append(l.out, diag.Diagnostic{
		Pos:  diag.Pos{File: l.file, Line: line, Col: col, EndCol: endCol},
		Rule: rule, Severity: severity(rule), Message: fmt.Sprintf(format, args...),
	})
}

func (l *linter) reportAt(p *actionlint.Pos, rule, format string, args ...any) {
	line, col := 0, 0
	if p != nil {
		line, col = p.Line, p.Col
	}
	l.report(line, col, 0, rule, format, args...)
}

// Lint checks one workflow. It returns the security findings, and
// separately actionlint's syntax errors (as RuleSyntax diagnostics) for the
// caller to report when nothing else does.
func Lint(file string, src []byte) (findings, syntax []diag.Diagnostic) {
	l := &linter{file: file, lines: strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")}
	wf, errs := parse(src)
	for _, e := range errs {
		syntax = append(syntax, diag.Diagnostic{Pos: diag.Pos{File: file, Line: e.Line, Col: e.Column}, Rule: RuleSyntax, Severity: diag.Error, Message: e.Message})
	}
	if wf == nil {
		return nil, syntax
	}
	l.check(wf)
	diag.Sort(l.out)
	return l.out, syntax
}

// parse calls actionlint's parser; a panic inside it becomes a syntax error.
func parse(src []byte) (wf *actionlint.Workflow, errs []*actionlint.Error) {
	defer func() {
		if r := recover(); r != nil {
			wf = nil
			errs = []*actionlint.Error{{Message: fmt.Sprintf("workflow parser failed: %v", r), Line: 1, Column: 1}}
		}
	}()
	return actionlint.Parse(src)
}

// untrusted is actionlint's list of untrusted inputs plus the workflow_run
// fields a fork controls.
var untrusted = func() actionlint.UntrustedInputSearchRoots {
	roots := actionlint.UntrustedInputSearchRoots{}
	for k, v := range actionlint.BuiltinUntrustedInputs {
		roots[k] = v
	}
	return roots
}()

var extraUntrusted = []string{
	"github.event.workflow_run.head_branch",
	"github.event.workflow_run.head_commit.message",
	"github.event.workflow_run.head_commit.author.name",
	"github.event.workflow_run.head_commit.author.email",
	"github.event.workflow_run.display_title",
	"github.event.workflow_run.pull_requests",
}

func (l *linter) check(wf *actionlint.Workflow) {
	trigger := ""
	for _, e := range wf.On {
		if n := e.EventName(); n == "pull_request_target" || n == "workflow_run" {
			trigger = n
		}
	}
	secretEnv := secretVars(wf.Env, nil)
	ids := make([]string, 0, len(wf.Jobs))
	for id := range wf.Jobs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		job := wf.Jobs[id]
		if job == nil {
			continue
		}
		if job.WorkflowCall != nil && job.WorkflowCall.Uses != nil {
			l.checkPinned(job.WorkflowCall.Uses, "reusable workflow")
		}
		jobEnv := secretVars(job.Env, secretEnv)
		for _, st := range job.Steps {
			if st == nil || st.Exec == nil {
				continue
			}
			env := secretVars(st.Env, jobEnv)
			switch ex := st.Exec.(type) {
			case *actionlint.ExecRun:
				if ex.Run == nil {
					continue
				}
				l.checkScript(ex.Run, "run:")
				l.checkSecretEcho(ex.Run, env)
				if trigger != "" {
					l.checkHeadCheckoutRun(ex.Run, trigger)
				}
			case *actionlint.ExecAction:
				if ex.Uses == nil {
					continue
				}
				l.checkPinned(ex.Uses, "action")
				uses := strings.ToLower(ex.Uses.Value)
				if strings.HasPrefix(uses, "actions/github-script@") {
					if in := ex.Inputs["script"]; in != nil && in.Value != nil {
						l.checkScript(in.Value, "actions/github-script script:")
					}
				}
				if trigger != "" && strings.HasPrefix(uses, "actions/checkout@") {
					if in := ex.Inputs["ref"]; in != nil && in.Value != nil && headRef(in.Value.Value) {
						l.reportAt(in.Value.Pos, RulePRTargetHead, "%s workflow checks out the pull request head (ref: %s): the untrusted code then runs with the base repository's secrets and write token", trigger, strings.TrimSpace(in.Value.Value))
					}
				}
			}
		}
	}
}

var headRefPat = regexp.MustCompile(`github\.event\.pull_request\.head\.(sha|ref)|github\.head_ref|github\.event\.workflow_run\.head_(sha|branch)|refs/pull/|pull_request\.merge_commit_sha`)

func headRef(s string) bool { return headRefPat.MatchString(s) }

var gitHeadPat = regexp.MustCompile(`gh pr checkout|git (fetch|checkout|pull)[^\n]*(pull/|github\.event\.pull_request\.head|github\.head_ref|workflow_run\.head_)`)

func (l *linter) checkHeadCheckoutRun(run *actionlint.String, trigger string) {
	for _, m := range gitHeadPat.FindAllStringIndex(run.Value, -1) {
		text := run.Value[m[0]:m[1]]
		line, col := l.locate(run, strings.Count(run.Value[:m[0]], "\n"), text)
		l.report(line, col, 0, RulePRTargetHead, "%s workflow fetches the pull request head in a script (%s): the untrusted code then runs with the base repository's secrets and write token", trigger, strings.TrimSpace(text))
	}
}

// locate finds text in the source near the i-th line of a YAML string, so
// a finding inside a multi-line script points at its own line.
func (l *linter) locate(s *actionlint.String, lineInValue int, text string) (int, int) {
	if s.Pos == nil {
		return 0, 0
	}
	start := s.Pos.Line + lineInValue
	first, _, _ := strings.Cut(text, "\n")
	for ln := max(start, 1); ln <= len(l.lines) && ln <= start+3; ln++ {
		if i := strings.Index(l.lines[ln-1], first); i >= 0 {
			return ln, i + 1
		}
	}
	return s.Pos.Line, s.Pos.Col
}

var exprSpan = regexp.MustCompile(`\$\{\{(.*?)\}\}`)
var quoted = regexp.MustCompile(`"([^"]+)"`)

// checkScript reports untrusted inputs expanded in a script.
func (l *linter) checkScript(s *actionlint.String, where string) {
	for _, m := range exprSpan.FindAllStringSubmatchIndex(s.Value, -1) {
		body := s.Value[m[2]:m[3]]
		paths := untrustedPaths(body)
		if len(paths) == 0 {
			continue
		}
		whole := s.Value[m[0]:m[1]]
		line, col := l.locate(s, strings.Count(s.Value[:m[0]], "\n"), whole)
		end := 0
		if col > 0 && !strings.Contains(whole, "\n") {
			end = col + len(whole)
		}
		l.report(line, col, end, RuleScriptInjection, "%s expands untrusted %s directly into the script, so its text runs as code: pass it through env: and use \"$VAR\"", where, strings.Join(paths, ", "))
	}
}

// untrustedPaths returns the untrusted inputs an expression reads.
func untrustedPaths(body string) []string {
	var out []string
	expr, err := actionlint.NewExprParser().Parse(actionlint.NewExprLexer(body + "}}"))
	if err == nil {
		c := actionlint.NewUntrustedInputChecker(untrusted)
		actionlint.VisitExprNode(expr, func(n, _ actionlint.ExprNode, entering bool) {
			if entering {
				c.OnVisitNodeEnter(n)
			} else {
				c.OnVisitNodeLeave(n)
			}
		})
		c.OnVisitEnd()
		for _, e := range c.Errs() {
			for _, q := range quoted.FindAllStringSubmatch(e.Message, -1) {
				if strings.Contains(q[1], ".") && !strings.HasPrefix(q[1], "http") {
					out = append(out, q[1])
				}
			}
		}
	}
	lower := strings.ToLower(body)
	for _, p := range extraUntrusted {
		if strings.Contains(lower, p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// checkPinned applies workflow/unpinned-action to a uses: reference.
func (l *linter) checkPinned(u *actionlint.String, what string) {
	ref := strings.TrimSpace(u.Value)
	switch {
	case ref == "" || strings.HasPrefix(ref, "./") || strings.Contains(ref, "${{"):
		return // local, or computed
	case strings.HasPrefix(ref, "shipgate/"):
		return // built into shipgate: nothing is downloaded
	case strings.HasPrefix(ref, "docker://"):
		if !strings.Contains(ref, "@sha256:") {
			l.reportAt(u.Pos, RuleUnpinnedAction, "%s %s is not pinned to an image digest (@sha256:...)", what, ref)
		}
		return
	}
	_, version, ok := strings.Cut(ref, "@")
	if !ok {
		l.reportAt(u.Pos, RuleUnpinnedAction, "%s %s has no version: pin it to a full commit SHA", what, ref)
		return
	}
	if !fullSHA.MatchString(version) {
		l.reportAt(u.Pos, RuleUnpinnedAction, "%s %s is pinned to the movable ref %q: pin it to a full commit SHA (a tag can be moved to other code)", what, ref, version)
	}
}

// secretVars returns the names of env variables set from secrets (or the
// GitHub token), together with the inherited ones.
func secretVars(env *actionlint.Env, inherited map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k, v := range inherited {
		out[k] = v
	}
	if env == nil {
		return out
	}
	for _, v := range env.Vars {
		if v == nil || v.Name == nil || v.Value == nil {
			continue
		}
		out[v.Name.Value] = secretRef.MatchString(v.Value.Value)
	}
	return out
}

var (
	secretRef = regexp.MustCompile(`\$\{\{[^}]*\b(secrets\.|github\.token\b)`)
	echoCmd   = regexp.MustCompile(`(^|[;&|(]\s*|\s)(echo|printf)\b`)
	shellVar  = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)
)

// checkSecretEcho reports echo/printf lines that print a secret to the
// log. Lines that pipe the value into another command or redirect it to a
// file, and ::add-mask:: lines, are how secrets are meant to be handled and
// are not reported.
func (l *linter) checkSecretEcho(run *actionlint.String, env map[string]bool) {
	for i, line := range strings.Split(run.Value, "\n") {
		loc := echoCmd.FindStringIndex(line)
		if loc == nil {
			continue
		}
		rest := line[loc[0]:]
		if strings.Contains(rest, "::add-mask::") || strings.ContainsAny(stripQuotedPipes(rest), "|>") {
			continue
		}
		what := ""
		if m := secretRef.FindString(rest); m != "" {
			what = strings.TrimSpace(strings.TrimPrefix(m, "${{")) + "…"
			if e := exprSpan.FindString(rest); e != "" {
				what = e
			}
		} else {
			for _, v := range shellVar.FindAllStringSubmatch(rest, -1) {
				if env[v[1]] {
					what = "$" + v[1] + " (set from a secret)"
					break
				}
			}
		}
		if what == "" {
			continue
		}
		ln, col := l.locate(run, i, strings.TrimSpace(line))
		l.report(ln, col, 0, RuleSecretEcho, "%s prints %s to the log: GitHub masks exact matches only, and any transformation leaks it", strings.TrimSpace(rest[:min(len(rest), 12)]), what)
	}
}

// stripQuotedPipes removes quoted text so a `|` or `>` inside a string
// does not count as a pipe or redirect.
func stripQuotedPipes(s string) string {
	var b strings.Builder
	var q rune
	for _, r := range s {
		switch {
		case q != 0:
			if r == q {
				q = 0
			}
		case r == '"' || r == '\'':
			q = r
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
