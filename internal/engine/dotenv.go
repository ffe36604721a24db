package engine

import (
	"fmt"
	"strings"
)

// ParseDotenv reads a dotenv file (--secret-file, --var-file): KEY=VALUE
// lines, optional "export ", # comments, single-quoted values taken as
// they are, double-quoted values with \n, \t, \" and \\ escapes (and
// spanning lines until the closing quote). A malformed line is an error
// naming its line number.
func ParseDotenv(src string) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'") {
			return nil, fmt.Errorf("line %d: want KEY=VALUE, got %q", i+1, lines[i])
		}
		v = strings.TrimLeft(v, " \t")
		switch {
		case strings.HasPrefix(v, `"`):
			body := v[1:]
			start := i
			for !closedQuote(body) {
				i++
				if i >= len(lines) {
					return nil, fmt.Errorf("line %d: value of %s has no closing \"", start+1, k)
				}
				body += "\n" + lines[i]
			}
			end := closingQuote(body)
			out[k] = unescapeDouble(body[:end])
		case strings.HasPrefix(v, `'`):
			end := strings.IndexByte(v[1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("line %d: value of %s has no closing '", i+1, k)
			}
			out[k] = v[1 : 1+end]
		default:
			if j := strings.Index(v, " #"); j >= 0 {
				v = v[:j]
			}
			out[k] = strings.TrimSpace(v)
		}
	}
	return out, nil
}

func closingQuote(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '"' {
			return i
		}
	}
	return -1
}

func closedQuote(s string) bool { return closingQuote(s) >= 0 }

func unescapeDouble(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
