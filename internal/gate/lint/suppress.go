package lint

import (
	"regexp"
	"strings"

	"github.com/shipgate/shipgate/internal/diag"
)

// A suppression comment:
//
//	# shipgate:ignore DL3008 pinned by the base image's snapshot date
//	# shipgate:ignore kube/limits,kube/requests sized by the VPA
//	# shipgate:ignore-file workflow/unpinned-action internal mirror of actions
//
// On a line of its own it covers the next line that is not blank or a
// comment, together with the block under it: in YAML the lines indented
// deeper (a container, a step), in a Dockerfile the continuation lines of
// the instruction. At the end of a line it covers that line. ignore-file
// covers the whole file. The reason is required: a suppression without
// one is itself reported and suppresses nothing.
var suppressionRE = regexp.MustCompile(`#\s*shipgate:ignore(-file)?(?:\s+([^\s]+))?(?:\s+(.*))?$`)

type suppression struct {
	file       string
	line       int // where the comment is
	from, to   int // lines covered; 0,0 means the whole file
	rules      []string
	used       bool
	hasReason  bool
	commentCol int
}

// suppress drops the findings covered by suppression comments and adds
// findings for suppressions that lack a reason or match nothing.
func suppress(ds []diag.Diagnostic, srcs map[string][]byte, cfg *Config) ([]diag.Diagnostic, int) {
	var sups []*suppression
	for file, src := range srcs {
		sups = append(sups, parseSuppressions(file, string(src))...)
	}
	var out []diag.Diagnostic
	n := 0
	for _, d := range ds {
		dropped := false
		for _, s := range sups {
			if !s.hasReason || s.file != d.Pos.File || !s.matches(d.Rule) {
				continue
			}
			if s.from == 0 || (d.Pos.Line >= s.from && d.Pos.Line <= s.to) {
				s.used, dropped = true, true
				break
			}
		}
		if dropped {
			n++
			continue
		}
		out = append(out, d)
	}
	for _, s := range sups {
		pos := diag.Pos{File: s.file, Line: s.line, Col: s.commentCol}
		var d diag.Diagnostic
		switch {
		case len(s.rules) == 0:
			d = diag.Diagnostic{Pos: pos, Rule: RuleSuppression, Severity: diag.Warning, Message: "shipgate:ignore needs a rule ID and a reason: # shipgate:ignore RULE reason"}
		case !s.hasReason:
			d = diag.Diagnostic{Pos: pos, Rule: RuleSuppression, Severity: diag.Warning, Message: "shipgate:ignore " + strings.Join(s.rules, ",") + " has no reason, so it suppresses nothing: say why after the rule ID"}
		case !s.used:
			d = diag.Diagnostic{Pos: pos, Rule: RuleUnusedSuppression, Severity: diag.Info, Message: "shipgate:ignore " + strings.Join(s.rules, ",") + " matched no finding"}
		default:
			continue
		}
		if d2, ok := cfg.apply(d); ok {
			out = append(out, d2)
		}
	}
	return out, n
}

func (s *suppression) matches(rule string) bool {
	for _, r := range s.rules {
		if r == rule || r == "all" {
			return true
		}
	}
	return false
}

func indent(line string) int {
	return len(line) - len(strings.TrimLeft(line, " \t"))
}

// parseSuppressions finds the suppression comments of one file.
func parseSuppressions(file, src string) []*suppression {
	if !strings.Contains(src, "shipgate:ignore") {
		return nil
	}
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var out []*suppression
	for i, line := range lines {
		m := suppressionRE.FindStringSubmatchIndex(line)
		if m == nil {
			continue
		}
		s := &suppression{file: file, line: i + 1, commentCol: m[0] + 1}
		if m[4] >= 0 {
			for r := range strings.SplitSeq(line[m[4]:m[5]], ",") {
				if r = strings.TrimSpace(r); r != "" {
					s.rules = append(s.rules, r)
				}
			}
		}
		s.hasReason = m[6] >= 0 && strings.TrimSpace(line[m[6]:m[7]]) != ""
		switch {
		case m[2] >= 0: // -file
		case strings.TrimSpace(line[:m[0]]) != "":
			s.from, s.to = i+1, i+1 // trailing comment
		default:
			j := i + 1
			for j < len(lines) && (strings.TrimSpace(lines[j]) == "" || strings.HasPrefix(strings.TrimSpace(lines[j]), "#")) {
				j++
			}
			if j >= len(lines) {
				s.from, s.to = i+1, i+1
				break
			}
			s.from, s.to = j+1, j+1
			base := indent(lines[j])
			for k := j + 1; k < len(lines); k++ {
				switch {
				case strings.HasSuffix(strings.TrimRight(lines[k-1], " \t\r"), "\\"):
					s.to = k + 1 // continuation of a Dockerfile instruction
				case strings.TrimSpace(lines[k]) == "":
					continue
				case indent(lines[k]) > base:
					s.to = k + 1 // the YAML block under the line
				default:
					k = len(lines)
				}
			}
		}
		out = append(out, s)
	}
	return out
}
