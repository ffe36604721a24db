package dockerfile

import "strings"

// command is one simple shell command inside a RUN line: its words, and
// whether its output goes into a pipe.
type command struct {
	words []string
	// piped is true when the command's output feeds a `|` pipe.
	piped bool
}

// splitShell splits a POSIX shell text into simple commands at `&&`, `||`,
// `;`, `|`, `&` and newlines, keeping quoted text together. It is a
// deliberately small lexer: enough to see `apt-get install` and its flags,
// not a shell. Subshells and braces are treated as plain words.
func splitShell(s string) []command {
	var (
		cmds  []command
		cur   command
		word  strings.Builder
		inWd  bool
		quote rune
	)
	endWord := func() {
		if inWd {
			cur.words = append(cur.words, word.String())
			word.Reset()
			inWd = false
		}
	}
	endCmd := func(piped bool) {
		endWord()
		if len(cur.words) > 0 {
			cur.piped = piped
			cmds = append(cmds, cur)
		}
		cur = command{}
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if quote != 0 {
			if r == quote {
				quote = 0
			} else if r == '\\' && quote == '"' && i+1 < len(rs) {
				i++
				word.WriteRune(rs[i])
			} else {
				word.WriteRune(r)
			}
			continue
		}
		switch r {
		case '\'', '"':
			quote = r
			inWd = true
		case '\\':
			if i+1 < len(rs) {
				i++
				if rs[i] != '\n' {
					word.WriteRune(rs[i])
					inWd = true
				}
			}
		case ' ', '\t', '\r':
			endWord()
		case '\n', ';':
			endCmd(false)
		case '&':
			if i+1 < len(rs) && rs[i+1] == '&' {
				i++
			}
			endCmd(false)
		case '|':
			if i+1 < len(rs) && rs[i+1] == '|' {
				i++
				endCmd(false)
			} else {
				endCmd(true)
			}
		case '#':
			if !inWd {
				// A comment runs to the end of the line.
				for i+1 < len(rs) && rs[i+1] != '\n' {
					i++
				}
			} else {
				word.WriteRune(r)
			}
		default:
			word.WriteRune(r)
			inWd = true
		}
	}
	endCmd(false)
	return cmds
}

// stripEnvPrefix drops leading VAR=value assignments and wrappers such as
// sudo or env from a command's words.
func stripEnvPrefix(words []string) []string {
	for len(words) > 0 {
		w := words[0]
		switch {
		case w == "sudo" || w == "env" || w == "exec" || w == "nice":
			words = words[1:]
		case strings.Contains(w, "=") && !strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "="):
			words = words[1:]
		default:
			return words
		}
	}
	return words
}
