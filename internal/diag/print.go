package diag

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Sources gives the text of a file for printing source lines. A file not
// in the map is read from disk on first use; files that cannot be read print
// no snippet. Each file's line starts are indexed once, so printing many
// diagnostics of one file stays linear.
type Sources map[string][]byte

// lineIndex caches line starts per file for one WriteText call.
type lineIndex map[string][]int

func (s Sources) line(idx lineIndex, file string, n int) (string, bool) {
	src, ok := s[file]
	if !ok {
		b, err := os.ReadFile(file)
		if err != nil {
			b = nil
		}
		s[file] = b
		src = b
	}
	if src == nil || n < 1 {
		return "", false
	}
	starts, ok := idx[file]
	if !ok {
		starts = []int{0}
		for i, c := range src {
			if c == '\n' {
				starts = append(starts, i+1)
			}
		}
		idx[file] = starts
	}
	if n > len(starts) {
		return "", false
	}
	line := src[starts[n-1]:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	return strings.TrimRight(string(line), "\r"), true
}

// maxSnippet is the longest source line shown under a diagnostic; longer
// lines (minified or generated input) are not echoed.
const maxSnippet = 400

// WriteText prints each diagnostic as `file:line:col: message [rule]`, then the
// source line and a ^~~~ under the span, as actionlint does.
func WriteText(w io.Writer, ds []Diagnostic, src Sources, color bool) error {
	if src == nil {
		src = Sources{}
	}
	idx := lineIndex{}
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	w = bw
	for _, d := range ds {
		sev := ""
		if d.Severity != Error {
			sev = d.Severity.String() + ": "
		}
		if color {
			fmt.Fprintf(w, "\x1b[1m%s\x1b[0m: %s%s \x1b[2m[%s]\x1b[0m\n", d.Pos, sev, d.Message, d.Rule)
		} else {
			fmt.Fprintf(w, "%s: %s%s [%s]\n", d.Pos, sev, d.Message, d.Rule)
		}
		line, ok := src.line(idx, d.Pos.File, d.Pos.Line)
		if !ok || d.Pos.Col < 1 || !utf8.ValidString(line) || len(line) > maxSnippet {
			continue
		}
		fmt.Fprintf(w, "%4d | %s\n", d.Pos.Line, line)
		fmt.Fprintf(w, "     | %s\n", underline(line, d.Pos.Col, d.Pos.EndCol))
	}
	return nil
}

// underline draws ^~~~ under columns [col, end) of line; without an end it
// covers the word that starts at col.
func underline(line string, col, end int) string {
	runes := []rune(line)
	start := min(col-1, len(runes))
	if end <= col {
		end = start + 1
		for end < len(runes) && runes[end] != ' ' && runes[end] != '\t' {
			end++
		}
		end++ // to a column number
	}
	n := max(end-col, 1)
	var b strings.Builder
	for _, r := range runes[:start] {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteByte('^')
	b.WriteString(strings.Repeat("~", n-1))
	return b.String()
}

// WriteJSON prints the diagnostics as one JSON array.
func WriteJSON(w io.Writer, ds []Diagnostic) error {
	if ds == nil {
		ds = []Diagnostic{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ds)
}
