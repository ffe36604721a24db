package secrets

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// DefaultRules is the built-in rule set, in gitleaks' TOML config format: every
// rule of gitleaks v8.30.1's default configuration plus shipgate's own rules
// (ids starting "shipgate-"). Each rule's true and false positives live in
// rules/samples*.toml and are checked by TestRuleSamples.
//
//go:embed rules/default.toml
var DefaultRules []byte

// Config is a compiled rule set: the rules in file order and the allowlists
// that apply to every rule.
type Config struct {
	// Title is the config's title.
	Title string
	// Path is where the config was read from ("" for the built-in one).
	Path string
	// Rules in the order the config lists them (extended rules after).
	Rules []*Rule
	// Allowlists apply to every rule.
	Allowlists []*Allowlist
	// Warnings are non-fatal problems (unknown keys...), file:line first.
	Warnings []string
}

// Rule is one detection rule, as gitleaks defines it.
type Rule struct {
	ID          string
	Description string
	// Regex finds candidate secrets; nil for path-only rules.
	Regex *regexp.Regexp
	// Path, when set, restricts the rule to matching file paths (or, without
	// Regex, reports the file itself).
	Path *regexp.Regexp
	// SecretGroup picks the capture group holding the secret (0: the first
	// non-empty group, or the whole match without groups).
	SecretGroup int
	// Entropy is the Shannon entropy the secret must exceed (0: no check).
	Entropy float64
	// Keywords gate the regex: it runs only where one occurs (lower case).
	Keywords []string
	Tags     []string
	// Allowlists suppress this rule's findings.
	Allowlists []*Allowlist
	// Required rules must also match nearby for a finding (composite rules).
	Required []Required
	// SkipReport marks a rule used only as another rule's requirement.
	SkipReport bool

	// window is how much text around a keyword hit the regex needs.
	window windowKind
	extra  int // extra lines after the hit line for windowLines
}

// Required is a composite rule's auxiliary rule and how close it must be.
type Required struct {
	RuleID        string
	WithinLines   *int
	WithinColumns *int
}

// Allowlist suppresses findings, as gitleaks' [[allowlists]] do.
type Allowlist struct {
	Description string
	// And requires every configured check to match (default: any).
	And     bool
	Commits map[string]bool
	// RegexTarget is "" (the secret), "match" or "line".
	RegexTarget string
	paths       *regexp.Regexp
	regexes     *regexp.Regexp
	stopwords   *acMatcher
	nPaths      int
	nRegexes    int
	nStopwords  int
}

type windowKind uint8

const (
	windowLine  windowKind = iota // the hit's line (plus extra lines)
	windowWhole                   // the whole fragment
)

type rawAllowlist struct {
	Description string   `toml:"description"`
	Condition   string   `toml:"condition"`
	Commits     []string `toml:"commits"`
	Paths       []string `toml:"paths"`
	RegexTarget string   `toml:"regexTarget"`
	Regexes     []string `toml:"regexes"`
	StopWords   []string `toml:"stopwords"`
	TargetRules []string `toml:"targetRules"`
}

type rawRequired struct {
	ID            string `toml:"id"`
	WithinLines   *int   `toml:"withinLines"`
	WithinColumns *int   `toml:"withinColumns"`
}

type rawRule struct {
	ID          string          `toml:"id"`
	Description string          `toml:"description"`
	Path        string          `toml:"path"`
	Regex       string          `toml:"regex"`
	SecretGroup int             `toml:"secretGroup"`
	Entropy     float64         `toml:"entropy"`
	Keywords    []string        `toml:"keywords"`
	Tags        []string        `toml:"tags"`
	AllowList   *rawAllowlist   `toml:"allowlist"`
	Allowlists  []*rawAllowlist `toml:"allowlists"`
	Required    []*rawRequired  `toml:"required"`
	SkipReport  bool            `toml:"skipReport"`
}

type rawConfig struct {
	Title       string `toml:"title"`
	Description string `toml:"description"`
	MinVersion  string `toml:"minVersion"`
	Extend      struct {
		Path          string   `toml:"path"`
		URL           string   `toml:"url"`
		UseDefault    bool     `toml:"useDefault"`
		DisabledRules []string `toml:"disabledRules"`
	} `toml:"extend"`
	Rules      []*rawRule      `toml:"rules"`
	AllowList  *rawAllowlist   `toml:"allowlist"`
	Allowlists []*rawAllowlist `toml:"allowlists"`
}

// maxExtendDepth bounds [extend] chains, as gitleaks does.
const maxExtendDepth = 2

// ConfigError is a problem in a config file, positioned where possible.
type ConfigError struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (e *ConfigError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// DefaultConfig returns the built-in rule set, compiled.
func DefaultConfig() (*Config, error) {
	return ParseConfig(DefaultRules, "")
}

// LoadConfig reads a gitleaks-format TOML config from path.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(data, path)
}

// ParseConfig compiles a gitleaks-format TOML config. name is the file it
// came from ("" for the built-in rules); [extend] path is relative to it.
func ParseConfig(data []byte, name string) (*Config, error) {
	return parseConfig(data, name, 0)
}

func parseConfig(data []byte, name string, depth int) (*Config, error) {
	display := name
	if display == "" {
		display = "default.toml"
	}
	var raw rawConfig
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &ConfigError{File: display, Line: pe.Position.Line, Col: pe.Position.Col, Msg: pe.Message}
		}
		return nil, &ConfigError{File: display, Msg: err.Error()}
	}
	src := string(data)
	cfg := &Config{Title: raw.Title, Path: name}
	for _, k := range md.Undecoded() {
		cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s: unknown key %q ignored", display, k.String()))
	}
	errAt := func(needle, format string, args ...any) error {
		return &ConfigError{File: display, Line: lineOf(src, needle), Msg: fmt.Sprintf(format, args...)}
	}

	byID := map[string]*Rule{}
	for i, rr := range raw.Rules {
		if rr == nil {
			continue
		}
		idNeedle := `"` + rr.ID + `"`
		if strings.TrimSpace(rr.ID) == "" {
			return nil, &ConfigError{File: display, Line: nthLine(src, "[[rules]]", i), Msg: "rule |id| is missing or empty"}
		}
		r := &Rule{ID: rr.ID, Description: rr.Description, SecretGroup: rr.SecretGroup, Entropy: rr.Entropy, SkipReport: rr.SkipReport}
		if rr.Regex != "" {
			re, err := regexp.Compile(rr.Regex)
			if err != nil {
				return nil, errAt(idNeedle, "rule %s: bad regex: %v", rr.ID, err)
			}
			r.Regex = re
		}
		if rr.Path != "" {
			re, err := regexp.Compile(rr.Path)
			if err != nil {
				return nil, errAt(idNeedle, "rule %s: bad path regex: %v", rr.ID, err)
			}
			r.Path = re
		}
		if rr.Entropy < 0 {
			return nil, errAt(idNeedle, "rule %s: entropy must not be negative", rr.ID)
		}
		if rr.SecretGroup < 0 {
			return nil, errAt(idNeedle, "rule %s: secretGroup must not be negative", rr.ID)
		}
		for _, k := range rr.Keywords {
			if k = strings.ToLower(k); k != "" {
				r.Keywords = append(r.Keywords, k)
			}
		}
		r.Tags = append(r.Tags, rr.Tags...)
		if rr.AllowList != nil {
			if len(rr.Allowlists) > 0 {
				return nil, errAt(idNeedle, "rule %s: [rules.allowlist] is deprecated, it cannot be used alongside [[rules.allowlists]]", rr.ID)
			}
			rr.Allowlists = append(rr.Allowlists, rr.AllowList)
		}
		for _, ra := range rr.Allowlists {
			if ra == nil {
				continue
			}
			if len(ra.TargetRules) > 0 {
				return nil, errAt(idNeedle, "rule %s: targetRules is only valid in a global [[allowlists]]", rr.ID)
			}
			a, err := compileAllowlist(ra)
			if err != nil {
				return nil, errAt(idNeedle, "rule %s: [[rules.allowlists]] %v", rr.ID, err)
			}
			r.Allowlists = append(r.Allowlists, a)
		}
		for _, q := range rr.Required {
			if q == nil || q.ID == "" {
				return nil, errAt(idNeedle, "rule %s: [[rules.required]] rule ID is empty", rr.ID)
			}
			r.Required = append(r.Required, Required{RuleID: q.ID, WithinLines: q.WithinLines, WithinColumns: q.WithinColumns})
		}
		if _, dup := byID[r.ID]; dup {
			// gitleaks keeps the last definition; so do we, with a warning.
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s:%d: rule %s defined twice; the last one wins", display, lineOf(src, idNeedle), r.ID))
			cfg.Rules = slices.DeleteFunc(cfg.Rules, func(x *Rule) bool { return x.ID == r.ID })
		}
		byID[r.ID] = r
		cfg.Rules = append(cfg.Rules, r)
	}

	if raw.AllowList != nil {
		if len(raw.Allowlists) > 0 {
			return nil, errAt("[allowlist]", "[allowlist] is deprecated, it cannot be used alongside [[allowlists]]")
		}
		raw.Allowlists = append(raw.Allowlists, raw.AllowList)
	}
	targeted := map[string][]*Allowlist{}
	for i, ra := range raw.Allowlists {
		if ra == nil {
			continue
		}
		a, err := compileAllowlist(ra)
		if err != nil {
			return nil, &ConfigError{File: display, Line: nthLine(src, "[[allowlists]]", i), Msg: "[[allowlists]] " + err.Error()}
		}
		if len(ra.TargetRules) > 0 {
			for _, id := range ra.TargetRules {
				targeted[id] = append(targeted[id], a)
			}
			continue
		}
		cfg.Allowlists = append(cfg.Allowlists, a)
	}

	// [extend]: merge a base config under this one.
	if raw.Extend.URL != "" {
		return nil, errAt("[extend]", "[extend] url is not supported (nothing is downloaded); use path")
	}
	if raw.Extend.Path != "" && raw.Extend.UseDefault {
		return nil, errAt("[extend]", "[extend] path and useDefault cannot both be set")
	}
	if depth < maxExtendDepth && (raw.Extend.UseDefault || raw.Extend.Path != "") {
		var base *Config
		var err error
		if raw.Extend.UseDefault {
			base, err = parseConfig(DefaultRules, "", depth+1)
		} else {
			// Relative to the config's folder; failing that, to the working
			// directory (as gitleaks resolves it).
			p := raw.Extend.Path
			if !filepath.IsAbs(p) && name != "" {
				if q := filepath.Join(filepath.Dir(name), p); fileExists(q) || !fileExists(p) {
					p = q
				}
			}
			var data []byte
			data, err = os.ReadFile(p)
			if err != nil {
				return nil, errAt("[extend]", "[extend] %v", err)
			}
			base, err = parseConfig(data, p, depth+1)
		}
		if err != nil {
			return nil, err
		}
		cfg.extend(base, raw.Extend.DisabledRules)
		cfg.Warnings = append(cfg.Warnings, base.Warnings...)
	}

	if depth == 0 {
		byID = map[string]*Rule{}
		for _, r := range cfg.Rules {
			byID[r.ID] = r
		}
		for _, r := range cfg.Rules {
			needle := `"` + r.ID + `"`
			if r.Regex == nil && r.Path == nil {
				return nil, errAt(needle, "rule %s: both |regex| and |path| are empty, this rule will have no effect", r.ID)
			}
			if r.Regex != nil && r.SecretGroup > r.Regex.NumSubexp() {
				return nil, errAt(needle, "rule %s: invalid regex secret group %d, max regex secret group %d", r.ID, r.SecretGroup, r.Regex.NumSubexp())
			}
			for _, q := range r.Required {
				if byID[q.RuleID] == nil {
					return nil, errAt(needle, "rule %s: [[rules.required]] rule ID '%s' does not exist", r.ID, q.RuleID)
				}
			}
			if r.Regex != nil {
				r.window, r.extra = analyseWindow(r.Regex)
			}
		}
		ids := make([]string, 0, len(targeted))
		for id := range targeted {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			r := byID[id]
			if r == nil {
				return nil, errAt(id, "[[allowlists]] target rule ID '%s' does not exist", id)
			}
			r.Allowlists = append(r.Allowlists, targeted[id]...)
		}
	} else {
		// Targeted allowlists of a base config attach to its own rules now.
		for id, as := range targeted {
			if r := byID[id]; r != nil {
				r.Allowlists = append(r.Allowlists, as...)
			}
		}
	}
	return cfg, nil
}

// extend merges base under c the way gitleaks does: base rules that c does
// not define are added; rules both define take c's non-empty fields, and
// keywords, tags and allowlists are combined.
func (c *Config) extend(base *Config, disabled []string) {
	have := map[string]*Rule{}
	for _, r := range c.Rules {
		have[r.ID] = r
	}
	for _, b := range base.Rules {
		if slices.Contains(disabled, b.ID) {
			continue
		}
		cur, ok := have[b.ID]
		if !ok {
			c.Rules = append(c.Rules, b)
			continue
		}
		merged := *b
		if cur.Description != "" {
			merged.Description = cur.Description
		}
		if cur.Entropy != 0 {
			merged.Entropy = cur.Entropy
		}
		if cur.SecretGroup != 0 {
			merged.SecretGroup = cur.SecretGroup
		}
		if cur.Regex != nil {
			merged.Regex = cur.Regex
		}
		if cur.Path != nil {
			merged.Path = cur.Path
		}
		merged.Tags = append(slices.Clone(b.Tags), cur.Tags...)
		merged.Keywords = append(slices.Clone(b.Keywords), cur.Keywords...)
		merged.Allowlists = append(slices.Clone(b.Allowlists), cur.Allowlists...)
		*cur = merged
	}
	c.Allowlists = append(c.Allowlists, base.Allowlists...)
}

func compileAllowlist(ra *rawAllowlist) (*Allowlist, error) {
	a := &Allowlist{Description: ra.Description}
	switch strings.ToUpper(ra.Condition) {
	case "AND", "&&":
		a.And = true
	case "", "OR", "||":
	default:
		return nil, fmt.Errorf("unknown allowlist |condition| '%s' (expected 'and', 'or')", ra.Condition)
	}
	switch ra.RegexTarget {
	case "", "secret":
	case "match", "line":
		a.RegexTarget = ra.RegexTarget
	default:
		return nil, fmt.Errorf("unknown allowlist |regexTarget| '%s' (expected 'match', 'line')", ra.RegexTarget)
	}
	if len(ra.Commits) == 0 && len(ra.Paths) == 0 && len(ra.Regexes) == 0 && len(ra.StopWords) == 0 {
		return nil, errors.New("must contain at least one check for: commits, paths, regexes, or stopwords")
	}
	if len(ra.Commits) > 0 {
		a.Commits = map[string]bool{}
		for _, c := range ra.Commits {
			a.Commits[strings.ToLower(strings.TrimSpace(c))] = true
		}
	}
	var err error
	if a.paths, err = joinRegexes(ra.Paths); err != nil {
		return nil, fmt.Errorf("bad path regex: %w", err)
	}
	if a.regexes, err = joinRegexes(ra.Regexes); err != nil {
		return nil, fmt.Errorf("bad regex: %w", err)
	}
	a.nPaths, a.nRegexes = len(ra.Paths), len(ra.Regexes)
	var words []string
	for _, w := range ra.StopWords {
		if w = strings.ToLower(w); w != "" && !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	a.nStopwords = len(ra.StopWords)
	if len(words) > 0 {
		a.stopwords = newACMatcher(words)
	}
	return a, nil
}

// joinRegexes compiles each pattern (so an error names it) and joins them into
// one alternation, which RE2 evaluates in one pass.
func joinRegexes(pats []string) (*regexp.Regexp, error) {
	if len(pats) == 0 {
		return nil, nil
	}
	parts := make([]string, len(pats))
	for i, p := range pats {
		if _, err := regexp.Compile(p); err != nil {
			return nil, err
		}
		parts[i] = "(?:" + p + ")"
	}
	return regexp.Compile(strings.Join(parts, "|"))
}

// analyseWindow decides how much text a rule's regex needs around a keyword
// hit. A regex that cannot match a newline needs only the hit's line; one that
// can match a bounded number of newlines gets two more lines; one anchored at
// the start of text or with an unbounded repetition that crosses lines gets
// the whole fragment.
func analyseWindow(re *regexp.Regexp) (windowKind, int) {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return windowWhole, 0
	}
	t = t.Simplify()
	whole, nl := false, false
	var walk func(t *syntax.Regexp, inUnbounded bool)
	walk = func(t *syntax.Regexp, inUnbounded bool) {
		switch t.Op {
		case syntax.OpBeginText:
			whole = true
		case syntax.OpAnyChar:
			nl = true
			if inUnbounded {
				whole = true
			}
		case syntax.OpCharClass:
			for i := 0; i+1 < len(t.Rune); i += 2 {
				if t.Rune[i] <= '\n' && '\n' <= t.Rune[i+1] {
					nl = true
					if inUnbounded {
						whole = true
					}
				}
			}
		case syntax.OpLiteral:
			if slices.Contains(t.Rune, '\n') {
				nl = true
				if inUnbounded {
					whole = true
				}
			}
		case syntax.OpStar, syntax.OpPlus:
			inUnbounded = true
		case syntax.OpRepeat:
			if t.Max < 0 || t.Max > 8 {
				inUnbounded = true
			}
		}
		for _, s := range t.Sub {
			walk(s, inUnbounded)
		}
	}
	walk(t, false)
	switch {
	case whole:
		return windowWhole, 0
	case nl:
		return windowLine, 2
	}
	return windowLine, 0
}

// lineOf returns the 1-based line of needle's first occurrence in src, or 0.
func lineOf(src, needle string) int {
	i := strings.Index(src, needle)
	if i < 0 {
		return 0
	}
	return strings.Count(src[:i], "\n") + 1
}

// nthLine returns the line of the n-th (0-based) occurrence of needle, or 0.
func nthLine(src, needle string, n int) int {
	off := 0
	for k := 0; ; k++ {
		i := strings.Index(src[off:], needle)
		if i < 0 {
			return 0
		}
		if k == n {
			return strings.Count(src[:off+i], "\n") + 1
		}
		off += i + len(needle)
	}
}

// allowedByPathOrCommit applies the path and commit checks of allowlists to a
// whole fragment, as gitleaks does before running any regex.
func allowedByPathOrCommit(as []*Allowlist, path, commit string) bool {
	for _, a := range as {
		pathOK := path != "" && a.paths != nil && a.paths.MatchString(path)
		commitOK := commit != "" && a.Commits[strings.ToLower(commit)]
		if a.And {
			if a.nRegexes > 0 || a.nStopwords > 0 {
				continue
			}
			ok := true
			if len(a.Commits) > 0 {
				ok = ok && commitOK
			}
			if a.nPaths > 0 {
				ok = ok && pathOK
			}
			if ok {
				return true
			}
		} else if pathOK || commitOK {
			return true
		}
	}
	return false
}

// pathOnly reports whether a is a plain OR path allowlist (so a directory
// that matches it can be skipped whole).
func (a *Allowlist) pathOnly() bool { return !a.And && a.nPaths > 0 }

// allowedFinding applies the regex and stopword checks (and for AND
// allowlists, the path and commit checks too) to one candidate.
func allowedFinding(as []*Allowlist, secret, match, line, path, commit string) bool {
	for _, a := range as {
		target := secret
		switch a.RegexTarget {
		case "match":
			target = match
		case "line":
			target = line
		}
		regexOK := target != "" && a.regexes != nil && a.regexes.MatchString(target)
		stopOK := false
		if a.stopwords != nil && secret != "" {
			stopOK = a.stopwords.contains(secret)
		}
		if a.And {
			ok := true
			if len(a.Commits) > 0 {
				ok = ok && commit != "" && a.Commits[strings.ToLower(commit)]
			}
			if a.nPaths > 0 {
				ok = ok && path != "" && a.paths != nil && a.paths.MatchString(path)
			}
			if a.nRegexes > 0 {
				ok = ok && regexOK
			}
			if a.nStopwords > 0 {
				ok = ok && stopOK
			}
			if ok {
				return true
			}
		} else if regexOK || stopOK {
			return true
		}
	}
	return false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
