package release

import (
	"fmt"
	"strings"

	"github.com/shipgate/shipgate/internal/gate/commits"
)

// changelogSections are the types shown, in order, with their headings.
// Other types (docs, chore, ci, ...) are left out, as conventional-changelog
// leaves them out.
var changelogSections = []struct{ typ, title string }{
	{"feat", "Features"},
	{"fix", "Bug Fixes"},
	{"perf", "Performance Improvements"},
	{"revert", "Reverts"},
}

// Changelog renders the Markdown section for version (with its leading "v")
// released on date (YYYY-MM-DD): breaking changes first, then features,
// fixes, performance and reverts; scoped entries as "**scope:** text"; each
// entry ends with the short hash.
func Changelog(version, date string, cs []commits.Commit) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s (%s)\n", version, date)
	eff := Effective(cs)
	entry := func(c commits.Commit, text string) string {
		s := "* "
		if c.Scope != "" {
			s += "**" + c.Scope + ":** "
		}
		return s + text + " (" + c.Short() + ")\n"
	}
	var breaking []string
	for _, c := range eff {
		if c.Breaking {
			breaking = append(breaking, entry(c, oneLine(c.BreakingNote)))
		}
	}
	if len(breaking) > 0 {
		b.WriteString("\n### ⚠ BREAKING CHANGES\n\n")
		for _, e := range breaking {
			b.WriteString(e)
		}
	}
	for _, sec := range changelogSections {
		var lines []string
		for _, c := range eff {
			typ := c.Type
			if c.Revert {
				typ = "revert"
			}
			if typ != sec.typ {
				continue
			}
			text := c.Description
			if c.RevertedHeader != "" {
				text = "revert \"" + c.RevertedHeader + "\""
			}
			lines = append(lines, entry(c, text))
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n", sec.title)
		for _, l := range lines {
			b.WriteString(l)
		}
	}
	return b.String()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
