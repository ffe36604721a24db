package plan

import (
	"regexp"
	"strings"
	"sync"
)

// Filter patterns follow GitHub's cheat sheet: `*` matches any run of
// characters but `/`, `**` any run including `/`, `?` one character, `+` one
// or more of the preceding character, `[...]` a class; a leading `!` negates,
// and later patterns override earlier ones.
// https://docs.github.com/en/actions/reference/workflow-syntax-for-github-actions#filter-pattern-cheat-sheet

var globCache sync.Map

func globRegexp(pattern string) *regexp.Regexp {
	if re, ok := globCache.Load(pattern); ok {
		return re.(*regexp.Regexp)
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				i++
				// `**/` also matches no directory at all.
				if i+1 < len(pattern) && pattern[i+1] == '/' {
					i++
					b.WriteString("(?:.*/)?")
				} else {
					b.WriteString(".*")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString(".")
		case '+':
			b.WriteString("+")
		case '[':
			j := strings.IndexByte(pattern[i:], ']')
			if j < 0 {
				b.WriteString(`\[`)
				continue
			}
			b.WriteString(pattern[i : i+j+1])
			i += j
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		re = regexp.MustCompile("^" + regexp.QuoteMeta(pattern) + "$")
	}
	globCache.Store(pattern, re)
	return re
}

// Match reports whether name matches a filter pattern (without `!`).
func Match(pattern, name string) bool { return globRegexp(pattern).MatchString(name) }

// MatchList applies a list of patterns in order, `!` patterns excluding what
// earlier ones included, and reports whether name is included in the end.
func MatchList(patterns []string, name string) bool {
	in := false
	for _, p := range patterns {
		if neg, ok := strings.CutPrefix(p, "!"); ok {
			if in && Match(neg, name) {
				in = false
			}
			continue
		}
		if !in && Match(p, name) {
			in = true
		}
	}
	return in
}
