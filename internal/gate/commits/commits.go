// Package commits is the commit-message gate: a parser for Conventional
// Commits 1.0.0 (https://www.conventionalcommits.org/en/v1.0.0/) that
// reports every problem with its line and column in the message, and a
// check over a range of git history.
//
// The flow: Log reads commits from the git binary; Parse splits each message
// into header (type, scope, "!", description), body and footers and returns
// positioned Problems; Check applies the options (allowed types, merge and
// revert handling) and builds a gate.Report whose findings are positioned at
// "<short hash>:<line>:<col>".
//
// Merge commits (more than one parent, or git's own "Merge ..." subjects) are
// skipped: their messages are written by git or the forge, not by people.
// Reverts are accepted in git's default form (Revert "<header>" with "This
// reverts commit <hash>.") as well as in the conventional "revert: ..." form.
package commits

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/shipgate/shipgate/internal/diag"
)

// DefaultTypes are the types of the Angular convention that commitlint's
// config-conventional allows.
var DefaultTypes = []string{"build", "chore", "ci", "docs", "feat", "fix", "perf", "refactor", "revert", "style", "test"}

// Footer is one trailer of the message ("Refs: #12", "BREAKING CHANGE: ...").
type Footer struct {
	Token string `json:"token"`
	Value string `json:"value"`
	Line  int    `json:"line"`
}

// Commit is a parsed commit message.
type Commit struct {
	Hash    string   `json:"hash,omitempty"`
	Parents []string `json:"parents,omitempty"`
	Header  string   `json:"header"`
	// Type is lowercased: the specification makes everything but
	// BREAKING CHANGE case-insensitive. RawType is the type as written.
	Type        string   `json:"type,omitempty"`
	RawType     string   `json:"raw_type,omitempty"`
	Scope       string   `json:"scope,omitempty"`
	Description string   `json:"description,omitempty"`
	Body        string   `json:"body,omitempty"`
	Footers     []Footer `json:"footers,omitempty"`
	// Breaking is set by "!" or a BREAKING CHANGE footer; BreakingNote is
	// the footer's text (or the description when only "!" is used).
	Breaking     bool   `json:"breaking,omitempty"`
	BreakingNote string `json:"breaking_note,omitempty"`
	// Merge: more than one parent or a git-generated merge subject.
	Merge bool `json:"merge,omitempty"`
	// Revert: git's `Revert "..."` form or the "revert" type. Reverts is
	// the hash named by "This reverts commit <hash>." when present, and
	// RevertedHeader the quoted header of git's form.
	Revert         bool   `json:"revert,omitempty"`
	Reverts        string `json:"reverts,omitempty"`
	RevertedHeader string `json:"reverted_header,omitempty"`
	// Valid is set when the header parsed as a conventional commit.
	Valid bool `json:"valid"`
}

// Short is the abbreviated hash used in positions.
func (c Commit) Short() string {
	if len(c.Hash) > 7 {
		return c.Hash[:7]
	}
	return c.Hash
}

// Problem is something wrong in a message, positioned in it (1-based).
type Problem struct {
	Line, Col, EndCol int
	Rule              string
	Severity          diag.Severity
	Message           string
}

var (
	reFooter       = regexp.MustCompile(`^(BREAKING CHANGE|BREAKING-CHANGE|[A-Za-z][A-Za-z0-9-]*)(: | #)(.*)$`)
	reBadBreaking  = regexp.MustCompile(`(?i)^breaking[ -]change\s*:`)
	reRevertHeader = regexp.MustCompile(`^Revert "(.*)"\s*$`)
	reRevertsHash  = regexp.MustCompile(`(?m)This reverts commit ([0-9a-f]{7,40})`)
	reMergeSubject = regexp.MustCompile(`^(Merge (branch|pull request|remote-tracking branch|tag|commit) |Merge [0-9a-f]{7,40} into |Merged .* into )`)
	reTypeChars    = regexp.MustCompile(`^[A-Za-z0-9-]*`)
)

// MaxHeader is the header length above which a warning is given (as
// commitlint's header-max-length).
const MaxHeader = 100

// Parse parses one commit message. Problems are positioned in message;
// an unparseable header leaves Valid false.
func Parse(message string) (Commit, []Problem) {
	msg := strings.ReplaceAll(message, "\r\n", "\n")
	// git strips comments and trailing blank lines; do the same.
	msg = strings.TrimRight(msg, "\n")
	lines := strings.Split(msg, "\n")
	c := Commit{Header: lines[0]}
	var ps []Problem
	add := func(line, col, end int, rule string, sev diag.Severity, format string, args ...any) {
		ps = append(ps, Problem{Line: line, Col: col, EndCol: end, Rule: rule, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(msg) == "" {
		add(1, 1, 0, "commits/empty", diag.Error, "empty commit message")
		return c, ps
	}
	if reMergeSubject.MatchString(c.Header) {
		c.Merge = true
		return c, nil
	}
	if m := reRevertHeader.FindStringSubmatch(c.Header); m != nil {
		c.Revert, c.Type, c.RevertedHeader, c.Valid = true, "revert", m[1], true
		c.Description = c.Header
		if h := reRevertsHash.FindStringSubmatch(msg); h != nil {
			c.Reverts = h[1]
		}
		c.Body = strings.TrimSpace(strings.Join(lines[1:], "\n"))
		return c, nil
	}
	if strings.HasPrefix(c.Header, "fixup! ") || strings.HasPrefix(c.Header, "squash! ") || strings.HasPrefix(c.Header, "amend! ") {
		add(1, 1, strings.Index(c.Header, "!")+2, "commits/fixup", diag.Warning, "%s commit: squash it before merging (git rebase --autosquash)", strings.TrimSuffix(strings.Fields(c.Header)[0], "!"))
		return c, ps
	}

	ps = append(ps, parseHeader(&c)...)

	if utf8.RuneCountInString(c.Header) > MaxHeader {
		add(1, MaxHeader+1, 0, "commits/header-length", diag.Warning, "header is %d characters long; keep it within %d", utf8.RuneCountInString(c.Header), MaxHeader)
	}
	if len(lines) > 1 && strings.TrimSpace(lines[1]) != "" {
		add(2, 1, 0, "commits/blank-line", diag.Error, "the body must be separated from the header by a blank line")
	}

	// Footers: the last paragraph, when its first line is a footer.
	start := 1
	for i := len(lines) - 1; i >= 1; i-- {
		if strings.TrimSpace(lines[i]) == "" {
			start = i + 1
			break
		}
	}
	footerStart := len(lines)
	if start >= 2 && start < len(lines) && (reFooter.MatchString(lines[start]) || reBadBreaking.MatchString(lines[start])) {
		footerStart = start
	}
	c.Body = strings.TrimSpace(strings.Join(lines[min(1, len(lines)):footerStart], "\n"))
	for i := footerStart; i < len(lines); i++ {
		l := lines[i]
		if reBadBreaking.MatchString(l) {
			if !strings.HasPrefix(l, "BREAKING CHANGE") && !strings.HasPrefix(l, "BREAKING-CHANGE") {
				add(i+1, 1, strings.Index(l, ":")+1, "commits/breaking-uppercase", diag.Error, "the BREAKING CHANGE footer must be written in uppercase")
			}
			c.Footers = append(c.Footers, Footer{Token: "BREAKING CHANGE", Value: strings.TrimSpace(l[strings.Index(l, ":")+1:]), Line: i + 1})
			continue
		}
		if m := reFooter.FindStringSubmatch(l); m != nil {
			c.Footers = append(c.Footers, Footer{Token: m[1], Value: m[3], Line: i + 1})
			continue
		}
		if len(c.Footers) > 0 {
			// A footer's value continues until the next token.
			f := &c.Footers[len(c.Footers)-1]
			f.Value += "\n" + l
		}
	}
	for _, f := range c.Footers {
		if f.Token == "BREAKING CHANGE" || f.Token == "BREAKING-CHANGE" {
			c.Breaking = true
			c.BreakingNote = strings.TrimSpace(f.Value)
			if c.BreakingNote == "" {
				add(f.Line, 1, len(f.Token)+2, "commits/breaking-empty", diag.Error, "the %s footer needs a description of the change", f.Token)
			}
		}
	}
	if c.Breaking && c.BreakingNote == "" {
		c.BreakingNote = c.Description
	}
	if c.Type == "revert" {
		c.Revert = true
		if h := reRevertsHash.FindStringSubmatch(msg); h != nil {
			c.Reverts = h[1]
		}
		for _, f := range c.Footers {
			if strings.EqualFold(f.Token, "Refs") && c.Reverts == "" {
				c.Reverts = strings.Fields(f.Value + " ")[0]
			}
		}
	}
	return c, ps
}

// parseHeader reads "type(scope)!: description" and positions what is wrong.
func parseHeader(c *Commit) []Problem {
	h := c.Header
	var ps []Problem
	bad := func(col, end int, rule, format string, args ...any) []Problem {
		return append(ps, Problem{Line: 1, Col: col, EndCol: end, Rule: rule, Severity: diag.Error, Message: fmt.Sprintf(format, args...)})
	}
	typ := reTypeChars.FindString(h)
	if typ == "" {
		return bad(1, 0, "commits/header", "the header must start with a type, as in \"feat: add x\" or \"fix(parser): y\"")
	}
	i := len(typ)
	if i < len(h) && h[i] == ' ' && strings.Contains(h, ":") == false {
		return bad(i+1, 0, "commits/header", "no ': ' after the type %q: write \"<type>[(scope)][!]: <description>\"", typ)
	}
	if i < len(h) && h[i] == '(' {
		end := strings.IndexByte(h[i:], ')')
		if end < 0 {
			return bad(i+1, 0, "commits/scope", "the scope opened here is not closed with ')'")
		}
		c.Scope = h[i+1 : i+end]
		if strings.TrimSpace(c.Scope) == "" {
			return bad(i+1, i+end+2, "commits/scope", "empty scope: remove the parentheses or name the scope")
		}
		if strings.ContainsAny(c.Scope, "()") {
			return bad(i+1, i+end+2, "commits/scope", "the scope must not contain parentheses")
		}
		i += end + 1
	}
	if i < len(h) && h[i] == '!' {
		c.Breaking = true
		i++
	}
	if i >= len(h) || h[i] != ':' {
		col := i + 1
		got := "the end of the header"
		if i < len(h) {
			r, _ := utf8.DecodeRuneInString(h[i:])
			got = fmt.Sprintf("%q", r)
		}
		return bad(col, 0, "commits/header", "expected ':' after %q, found %s: write \"<type>[(scope)][!]: <description>\"", h[:i], got)
	}
	i++
	if i >= len(h) || h[i] != ' ' {
		return bad(i+1, 0, "commits/header", "expected a space after ':'")
	}
	i++
	c.Type, c.RawType = strings.ToLower(typ), typ
	c.Description = strings.TrimSpace(h[i:])
	if c.Description == "" {
		return bad(i+1, 0, "commits/description", "the description after %q is empty", h[:i-1])
	}
	c.Valid = true
	return ps
}

// Options configure Check.
type Options struct {
	// Types allowed; empty means DefaultTypes.
	Types []string
	// RequireScope makes a missing scope an error.
	RequireScope bool
}

// Validate applies the options to a parsed commit: the type must be one of
// the allowed types (case-sensitive, lowercase by convention).
func (o Options) Validate(c Commit) []Problem {
	if !c.Valid || c.Merge || (c.Revert && c.RevertedHeader != "") {
		return nil
	}
	types := o.Types
	if len(types) == 0 {
		types = DefaultTypes
	}
	var ps []Problem
	raw := c.RawType
	if raw == "" {
		raw = c.Type
	}
	if !slices.ContainsFunc(types, func(t string) bool { return strings.EqualFold(t, c.Type) }) {
		ps = append(ps, Problem{Line: 1, Col: 1, EndCol: len(raw) + 1, Rule: "commits/type", Severity: diag.Error,
			Message: fmt.Sprintf("type %q is not one of %s", raw, strings.Join(types, ", "))})
	} else if raw != strings.ToLower(raw) {
		// Types are case-insensitive in the specification; lowercase is
		// the convention (commitlint's type-case).
		ps = append(ps, Problem{Line: 1, Col: 1, EndCol: len(raw) + 1, Rule: "commits/type-case", Severity: diag.Warning,
			Message: fmt.Sprintf("write the type in lowercase: %q", strings.ToLower(raw))})
	}
	if o.RequireScope && c.Scope == "" {
		ps = append(ps, Problem{Line: 1, Col: len(c.Type) + 1, Rule: "commits/scope", Severity: diag.Error, Message: "a scope is required, as in \"" + c.Type + "(api): ...\""})
	}
	return ps
}
