// Package dockerfile reviews Dockerfiles (and Containerfiles).
//
// A file is parsed with moby/buildkit's own Dockerfile parser, the one
// `docker build` uses, so what parses here parses there. Each instruction
// is then checked once more with buildkit's instruction parser, so a
// malformed instruction (ENV without a value, a bad flag) is reported at
// its line rather than silently skipped. The rules then walk the stages:
// they are modelled on hadolint's most used rules and keep hadolint's IDs
// where a rule matches one (DL3006, DL3007, DL3008, DL3009, DL3015, DL3018,
// DL3020, DL3002, DL3025, DL4006), plus shipgate's own for a missing USER,
// secrets in ENV/ARG and a missing HEALTHCHECK. docs/lint-rules.md shows
// every rule with an example.
package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/lint/ruleset"
)

// Rule IDs this package reports.
const (
	RuleParse         = "dockerfile/parse"
	RuleUntagged      = "DL3006"
	RuleLatest        = "DL3007"
	RuleAptPin        = "DL3008"
	RuleAptLists      = "DL3009"
	RuleAptRecommends = "DL3015"
	RuleApkPin        = "DL3018"
	RuleAddForCopy    = "DL3020"
	RuleUserRoot      = "DL3002"
	RuleNoUser        = "dockerfile/no-user"
	RuleShellForm     = "DL3025"
	RulePipefail      = "DL4006"
	RuleSecret        = "dockerfile/secret"
	RuleNoHealthcheck = "dockerfile/healthcheck"
	helpURI           = "https://github.com/shipgate/shipgate/blob/main/docs/lint-rules.md"
)

// RuleInfo describes a rule: its ID, default severity and one-line summary.
type RuleInfo = ruleset.Rule

// Rules lists every rule of this package with its default severity.
var Rules = ruleset.Set{
	{ID: RuleParse, Severity: diag.Error, Summary: "the Dockerfile does not parse"},
	{ID: RuleUntagged, Severity: diag.Error, Summary: "FROM an image without a tag or digest"},
	{ID: RuleLatest, Severity: diag.Error, Summary: "FROM an image with the latest tag"},
	{ID: RuleAptPin, Severity: diag.Warning, Summary: "apt-get install without pinned versions (pkg=version)"},
	{ID: RuleAptLists, Severity: diag.Warning, Summary: "apt-get install without removing /var/lib/apt/lists afterwards"},
	{ID: RuleAptRecommends, Severity: diag.Warning, Summary: "apt-get install without --no-install-recommends"},
	{ID: RuleApkPin, Severity: diag.Warning, Summary: "apk add without pinned versions (pkg=version)"},
	{ID: RuleAddForCopy, Severity: diag.Error, Summary: "ADD of local files or folders where COPY serves"},
	{ID: RuleUserRoot, Severity: diag.Error, Summary: "the final stage's last USER is root"},
	{ID: RuleNoUser, Severity: diag.Warning, Summary: "the final stage never sets USER, so the image runs as root"},
	{ID: RuleShellForm, Severity: diag.Warning, Summary: "CMD or ENTRYPOINT in shell form (signals do not reach the process)"},
	{ID: RulePipefail, Severity: diag.Warning, Summary: "RUN with a pipe but without `set -o pipefail` or a pipefail SHELL"},
	{ID: RuleSecret, Severity: diag.Error, Summary: "ENV or ARG named like a secret (it is kept in the image history)"},
	{ID: RuleNoHealthcheck, Severity: diag.Info, Summary: "the final stage has no HEALTHCHECK"},
}

// DiagRules returns Rules in the form SARIF's rule table wants.
func DiagRules() []diag.Rule { return Rules.Diag(helpURI) }

func severity(id string) diag.Severity { return Rules.Severity(id) }

// Looks reports whether src looks like a Dockerfile: its first instruction,
// after comments, parser directives and blank lines, is FROM or ARG, and a
// FROM appears somewhere.
func Looks(src []byte) bool {
	sawFrom := false
	first := true
	for line := range bytes.SplitSeq(src, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		word, _, _ := bytes.Cut(t, []byte(" "))
		word = bytes.ToUpper(bytes.TrimSpace(word))
		if first {
			if !bytes.Equal(word, []byte("FROM")) && !bytes.Equal(word, []byte("ARG")) {
				return false
			}
			first = false
		}
		if bytes.Equal(word, []byte("FROM")) {
			sawFrom = true
			break
		}
	}
	return sawFrom
}

// linter holds one file's state while the rules run.
type linter struct {
	file  string
	lines []string
	out   []diag.Diagnostic
}

func (l *linter) report(pos diag.Pos, rule, format string, args ...any) {
	l.out = append(l.out, diag.Diagnostic{Pos: pos, Rule: rule, Severity: severity(rule), Message: fmt.Sprintf(format, args...)})
}

// at is the position of an instruction: its first line, at the first
// non-blank column.
func (l *linter) at(n *parser.Node) diag.Pos {
	p := diag.Pos{File: l.file, Line: n.StartLine, Col: 1}
	if n.StartLine >= 1 && n.StartLine <= len(l.lines) {
		line := l.lines[n.StartLine-1]
		p.Col = len(line) - len(strings.TrimLeft(line, " \t")) + 1
	}
	return p
}

// find is the position of the first occurrence of needle within the lines
// of instruction n, or the instruction's position when it is not found (for
// example when a line continuation split it).
func (l *linter) find(n *parser.Node, needle string) diag.Pos {
	if needle != "" {
		for ln := n.StartLine; ln >= 1 && ln <= n.EndLine && ln <= len(l.lines); ln++ {
			if i := strings.Index(l.lines[ln-1], needle); i >= 0 {
				return diag.Pos{File: l.file, Line: ln, Col: i + 1, EndCol: i + 1 + len(needle)}
			}
		}
	}
	return l.at(n)
}

// stage is one FROM ... section.
type stage struct {
	from        *parser.Node
	image, name string
	nodes       []*parser.Node
}

// Lint parses src as a Dockerfile named file and returns every finding,
// sorted by position. A file that does not parse gives one RuleParse
// finding at the line buildkit names.
func Lint(file string, src []byte) []diag.Diagnostic {
	l := &linter{file: file, lines: strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")}
	res, err := parser.Parse(bytes.NewReader(src))
	// buildkit's parser stops at the first bad line. To report every
	// problem in one run, blank the lines it names and parse again.
	for tries := 0; err != nil; tries++ {
		l.out = append(l.out, diag.Diagnostic{Pos: errPos(file, err), Rule: RuleParse, Severity: diag.Error, Message: errMessage(err)})
		var blanked []byte
		if tries < 20 {
			blanked = blankLines(src, errLines(err))
		}
		if blanked == nil {
			return l.out
		}
		src = blanked
		res, err = parser.Parse(bytes.NewReader(src))
	}
	var (
		stages  []*stage
		argDefs = map[string]string{} // global ARG defaults, for FROM ${BASE}
	)
	for _, n := range res.AST.Children {
		// buildkit's instruction parser validates each instruction's shape.
		if _, err := instructions.ParseInstruction(n); err != nil {
			pos := l.at(n)
			l.out = append(l.out, diag.Diagnostic{Pos: pos, Rule: RuleParse, Severity: diag.Error, Message: errMessage(err)})
			continue
		}
		switch strings.ToLower(n.Value) {
		case "from":
			s := &stage{from: n}
			if n.Next != nil {
				s.image = n.Next.Value
				if a := n.Next.Next; a != nil && strings.EqualFold(a.Value, "as") && a.Next != nil {
					s.name = strings.ToLower(a.Next.Value)
				}
			}
			stages = append(stages, s)
		case "arg":
			if len(stages) == 0 && n.Next != nil {
				k, v, _ := strings.Cut(n.Next.Value, "=")
				argDefs[k] = strings.Trim(v, `"'`)
			}
			if len(stages) > 0 {
				stages[len(stages)-1].nodes = append(stages[len(stages)-1].nodes, n)
			}
			l.checkSecret(n)
		default:
			if len(stages) > 0 {
				stages[len(stages)-1].nodes = append(stages[len(stages)-1].nodes, n)
			}
		}
	}
	names := map[string]*stage{}
	for _, s := range stages {
		l.checkFrom(s, names, argDefs)
		if s.name != "" {
			names[s.name] = s
		}
		pipefail := false
		for _, n := range s.nodes {
			switch strings.ToLower(n.Value) {
			case "run":
				l.checkRun(n, pipefail)
			case "shell":
				pipefail = shellHasPipefail(n)
			case "add":
				l.checkAdd(n)
			case "env":
				l.checkSecret(n)
			case "cmd", "entrypoint":
				if !n.Attributes["json"] && n.Next != nil {
					l.report(l.at(n), RuleShellForm, "%s in shell form: use the exec form %s [\"executable\", \"arg\"] so the process receives signals", strings.ToUpper(n.Value), strings.ToUpper(n.Value))
				}
			}
		}
	}
	if len(stages) > 0 {
		l.checkFinal(stages, names)
	}
	diag.Sort(l.out)
	return l.out
}

// errPos reads the line buildkit attached to a parse error.
func errPos(file string, err error) diag.Pos {
	p := diag.Pos{File: file, Line: 1, Col: 1}
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		if ln := le.Locations[0][0].Start.Line; ln > 0 {
			p.Line = ln
		}
	}
	return p
}

// errLines lists the lines a parse error covers.
func errLines(err error) []int {
	var le *parser.LocationError
	if !errors.As(err, &le) || len(le.Locations) == 0 {
		return nil
	}
	var out []int
	for _, r := range le.Locations[0] {
		for ln := r.Start.Line; ln <= r.End.Line && ln > 0; ln++ {
			out = append(out, ln)
		}
	}
	return out
}

// blankLines returns src with the given 1-based lines emptied, or nil when
// that changes nothing (no progress is possible).
func blankLines(src []byte, lines []int) []byte {
	parts := bytes.Split(src, []byte("\n"))
	changed := false
	for _, ln := range lines {
		if ln >= 1 && ln <= len(parts) && len(bytes.TrimSpace(parts[ln-1])) > 0 {
			parts[ln-1] = nil
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return bytes.Join(parts, []byte("\n"))
}

func errMessage(err error) string {
	var le *parser.LocationError
	if errors.As(err, &le) && le.Unwrap() != nil {
		return le.Unwrap().Error()
	}
	return err.Error()
}

// checkFrom applies DL3006 and DL3007 to a stage's base image.
func (l *linter) checkFrom(s *stage, names map[string]*stage, args map[string]string) {
	img := s.image
	if img == "" || strings.EqualFold(img, "scratch") {
		return
	}
	if _, ok := names[strings.ToLower(img)]; ok {
		return // FROM an earlier stage
	}
	if strings.Contains(img, "$") {
		img = expandArgs(img, args)
		if strings.Contains(img, "$") || img == "" {
			return // depends on a build argument with no default: unknowable here
		}
	}
	if strings.Contains(img, "@") {
		return // pinned by digest
	}
	pos := l.find(s.from, s.image)
	tag := imageTag(img)
	switch {
	case tag == "":
		l.report(pos, RuleUntagged, "base image %q has no tag: pin a version (e.g. %s:1.2) or a digest", img, img)
	case tag == "latest":
		l.report(pos, RuleLatest, "base image %q uses the latest tag: pin a version or a digest", img)
	}
}

// imageTag returns the tag of an image reference, or "" when it has none. A
// colon in the registry part (host:port) is not a tag.
func imageTag(ref string) string {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ""
	}
	return ref[i+1:]
}

var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

func expandArgs(s string, args map[string]string) string {
	return argRef.ReplaceAllStringFunc(s, func(m string) string {
		name := argRef.FindStringSubmatch(m)[1]
		if v, ok := args[name]; ok && v != "" {
			return v
		}
		return m
	})
}

// runText is the shell text of a RUN instruction and whether it is in
// shell form; heredoc bodies are included.
func runText(n *parser.Node) (string, bool) {
	var parts []string
	for c := n.Next; c != nil; c = c.Next {
		parts = append(parts, c.Value)
	}
	text := strings.Join(parts, " ")
	for _, h := range n.Heredocs {
		text += "\n" + h.Content
	}
	return text, !n.Attributes["json"]
}

// checkRun applies the apt-get, apk and pipefail rules to one RUN.
func (l *linter) checkRun(n *parser.Node, shellPipefail bool) {
	text, shellForm := runText(n)
	cmds := splitShell(text)
	cleansLists := strings.Contains(text, "/var/lib/apt/lists")
	for _, c := range cmds {
		w := stripEnvPrefix(c.words)
		if len(w) < 2 {
			continue
		}
		switch {
		case (w[0] == "apt-get" || w[0] == "apt") && slices.Contains(w[1:], "install"):
			pkgs := packages(w[1:], "install")
			pos := l.find(n, w[0]+" install")
			if pos.EndCol == 0 {
				pos = l.find(n, w[0]+" ")
			}
			if !slices.ContainsFunc(w, func(s string) bool {
				return s == "--no-install-recommends" || strings.HasPrefix(s, "APT::Install-Recommends=false") || s == "APT::Install-Recommends=false"
			}) && !strings.Contains(text, "Install-Recommends") {
				l.report(pos, RuleAptRecommends, "%s install without --no-install-recommends pulls in extra packages", w[0])
			}
			if !cleansLists {
				l.report(pos, RuleAptLists, "%s install without `rm -rf /var/lib/apt/lists/*` in the same RUN keeps the package lists in the layer", w[0])
			}
			if un := unpinned(pkgs, "="); len(un) > 0 {
				l.report(pos, RuleAptPin, "%s install of unpinned packages %s: pin versions (pkg=1.2.*)", w[0], strings.Join(un, ", "))
			}
		case w[0] == "apk" && slices.Contains(w[1:], "add"):
			pkgs := packages(w[1:], "add")
			if un := unpinned(pkgs, "="); len(un) > 0 {
				l.report(l.find(n, "apk add"), RuleApkPin, "apk add of unpinned packages %s: pin versions (pkg=1.2.3-r0)", strings.Join(un, ", "))
			}
		}
	}
	if shellForm && !shellPipefail && hasPipe(cmds) && !strings.Contains(text, "pipefail") {
		pos := l.find(n, " | ")
		if pos.EndCol != 0 {
			pos.Col, pos.EndCol = pos.Col+1, pos.Col+2
		} else {
			pos = l.find(n, "|")
		}
		l.report(pos, RulePipefail, "RUN pipes output into another command without pipefail: a failure on the left is hidden; add `SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]` or `set -o pipefail &&`")
	}
}

func hasPipe(cmds []command) bool {
	return slices.ContainsFunc(cmds, func(c command) bool { return c.piped })
}

// packages returns the package arguments after the sub-command verb,
// skipping options (and the values of options that take one).
func packages(words []string, verb string) []string {
	i := slices.Index(words, verb)
	var out []string
	for _, w := range words[i+1:] {
		switch {
		case strings.HasPrefix(w, "-"):
			continue
		case strings.HasPrefix(w, "$") || strings.Contains(w, "*") || strings.HasSuffix(w, ".deb") || strings.Contains(w, "/"):
			continue // variables, globs, local files: cannot judge
		}
		out = append(out, w)
	}
	return out
}

func unpinned(pkgs []string, sep string) []string {
	var out []string
	for _, p := range pkgs {
		if !strings.Contains(p, sep) {
			out = append(out, p)
		}
	}
	return out
}

func shellHasPipefail(n *parser.Node) bool {
	for c := n.Next; c != nil; c = c.Next {
		if strings.Contains(c.Value, "pipefail") {
			return true
		}
	}
	return false
}

var archiveExt = []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".gz", ".bz2", ".xz", ".zst"}

// checkAdd applies DL3020: ADD of local, non-archive sources.
func (l *linter) checkAdd(n *parser.Node) {
	var args []string
	for c := n.Next; c != nil; c = c.Next {
		args = append(args, c.Value)
	}
	if len(args) < 2 {
		return
	}
	for _, src := range args[:len(args)-1] {
		lower := strings.ToLower(src)
		if strings.Contains(lower, "://") || strings.HasPrefix(lower, "git@") || strings.Contains(lower, "$") {
			continue // URLs and git sources are what ADD is for
		}
		if slices.ContainsFunc(archiveExt, func(ext string) bool { return strings.HasSuffix(lower, ext) }) {
			continue // local archives are unpacked by ADD
		}
		l.report(l.at(n), RuleAddForCopy, "ADD %s: use COPY for local files and folders (ADD also fetches URLs and unpacks archives)", src)
		return
	}
}

var secretName = regexp.MustCompile(`(?i)(passw(or)?d|secret|token|api_?key|private_?key|access_?key|credential|auth_?key)`)

// notSecret are name endings that point at a secret rather than hold one.
var notSecret = regexp.MustCompile(`(?i)(_file|_path|_dir|_url|_uri|_endpoint|_name|_env|_id)$`)

// checkSecret applies dockerfile/secret to ENV and ARG: the values are
// kept in the image's history and config for anyone who pulls it.
func (l *linter) checkSecret(n *parser.Node) {
	for c := n.Next; c != nil; c = c.Next {
		name := c.Value
		if strings.EqualFold(n.Value, "arg") {
			name, _, _ = strings.Cut(name, "=")
		} else if c.Next != nil {
			// ENV nodes come in triples: name, value, separator.
			c = c.Next
			if c.Next != nil {
				c = c.Next
			}
		}
		if secretName.MatchString(name) && !notSecret.MatchString(name) {
			l.report(l.find(n, name), RuleSecret, "%s %s looks like a secret: build args and env values stay in the image history; use RUN --mount=type=secret", strings.ToUpper(n.Value), name)
		}
	}
}

// checkFinal applies the rules about the image that ships: the final
// stage's user and health check. A stage built FROM an earlier stage
// inherits that stage's USER and HEALTHCHECK.
func (l *linter) checkFinal(stages []*stage, names map[string]*stage) {
	final := stages[len(stages)-1]
	var lastUser, health *parser.Node
	seen := map[*stage]bool{}
	for s := final; s != nil && !seen[s]; s = names[strings.ToLower(s.image)] {
		seen[s] = true
		for i := len(s.nodes) - 1; i >= 0; i-- {
			n := s.nodes[i]
			if strings.EqualFold(n.Value, "user") && lastUser == nil {
				lastUser = n
			}
			if strings.EqualFold(n.Value, "healthcheck") && health == nil {
				health = n
			}
		}
		if lastUser != nil && health != nil {
			break
		}
	}
	switch {
	case lastUser == nil:
		if !strings.EqualFold(final.image, "scratch") {
			l.report(l.at(final.from), RuleNoUser, "the final stage never sets USER, so the container runs as root: add `USER <non-root>`")
		}
	case lastUser.Next != nil && isRoot(lastUser.Next.Value):
		l.report(l.at(lastUser), RuleUserRoot, "the last USER of the final stage is root: switch to a non-root user")
	}
	if health == nil {
		l.report(l.at(final.from), RuleNoHealthcheck, "the final stage has no HEALTHCHECK")
	}
}

func isRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "root" || u == "0"
}
