package commits

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: no panic; problems are positioned inside the message; a valid
// header has a type and a description.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"feat(api)!: x\n\nbody\n\nBREAKING CHANGE: y\nRefs: #1",
		"Revert \"feat: x\"\n\nThis reverts commit 0123456.",
		"Merge branch 'a'", "fix:", "feat(: x", "fixup! feat: x", "breaking change: x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		c, ps := Parse(msg)
		lines := strings.Split(strings.ReplaceAll(msg, "\r\n", "\n"), "\n")
		for _, p := range ps {
			if p.Line < 1 || p.Line > len(lines)+1 || p.Col < 1 {
				t.Fatalf("problem %+v outside the message %q", p, msg)
			}
			if p.Line <= len(lines) && p.Rule != "commits/header-length" && p.Col > utf8.RuneCountInString(lines[p.Line-1])+1 && p.Col > len(lines[p.Line-1])+1 {
				t.Fatalf("problem %+v past the end of line %q", p, lines[p.Line-1])
			}
		}
		if c.Valid && !c.Merge && (c.Type == "" || c.Description == "") {
			t.Fatalf("valid commit without type or description: %+v", c)
		}
		_ = (Options{}).Validate(c)
	})
}
