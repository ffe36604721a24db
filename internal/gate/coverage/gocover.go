package coverage

import (
	"bufio"
	"bytes"
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// parseGo reads a Go cover profile (`go test -coverprofile`): a "mode:" line,
// then "file.go:startLine.startCol,endLine.endCol numStmts count" lines.
// Several profiles may be concatenated (each with its mode line); the same
// block seen twice adds up, as `go tool cover` merges them.
func parseGo(name string, data []byte) (*Profile, error) {
	p := NewProfile(FormatGo)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	lineNo := 0
	mode := ""
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if m, ok := strings.CutPrefix(line, "mode:"); ok {
			m = strings.TrimSpace(m)
			switch m {
			case "set", "count", "atomic":
			default:
				return nil, &ParseError{File: name, Line: lineNo, Col: 7, Msg: "unknown cover mode " + strconv.Quote(m) + " (want set, count or atomic)"}
			}
			if mode != "" && mode != m {
				// Mixed modes still merge: a block is covered when its count > 0.
			}
			mode = m
			continue
		}
		if mode == "" {
			return nil, &ParseError{File: name, Line: lineNo, Col: 1, Msg: `Go cover profile must start with a "mode:" line`}
		}
		file, b, count, col, err := parseGoLine(line)
		if err != "" {
			return nil, &ParseError{File: name, Line: lineNo, Col: col, Msg: err}
		}
		f := p.File(file, dirOf(file))
		if f.Blocks == nil {
			f.Blocks = map[Block]int64{}
		}
		f.Blocks[b] = satAdd(f.Blocks[b], count)
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{File: name, Line: lineNo + 1, Msg: err.Error()}
	}
	if mode == "" {
		return nil, &ParseError{File: name, Line: 1, Col: 1, Msg: `Go cover profile must start with a "mode:" line`}
	}
	for _, f := range p.Files {
		f.Lines = goLines(f.Blocks)
	}
	return p, nil
}

// parseGoLine splits "file.go:12.3,14.2 2 1". It returns an error message and
// the 1-based column where the line stops making sense.
func parseGoLine(line string) (file string, b Block, count int64, col int, msg string) {
	colon := strings.LastIndexByte(line, ':')
	if colon <= 0 {
		return "", b, 0, 1, "want file.go:line.col,line.col statements count"
	}
	file = line[:colon]
	fields := strings.Fields(line[colon+1:])
	if len(fields) != 3 {
		return "", b, 0, colon + 2, "want file.go:line.col,line.col statements count"
	}
	start, end, ok := strings.Cut(fields[0], ",")
	if !ok {
		return "", b, 0, colon + 2, "want line.col,line.col"
	}
	var err error
	if b.StartLine, b.StartCol, err = lineDotCol(start); err != nil {
		return "", b, 0, colon + 2, "bad block start " + strconv.Quote(start)
	}
	if b.EndLine, b.EndCol, err = lineDotCol(end); err != nil {
		return "", b, 0, colon + 2 + len(start) + 1, "bad block end " + strconv.Quote(end)
	}
	if b.EndLine < b.StartLine {
		return "", b, 0, colon + 2, "block ends before it starts"
	}
	n, err := strconv.Atoi(fields[1])
	if err != nil || n < 0 {
		return "", b, 0, strings.Index(line, " ") + 2, "bad statement count " + strconv.Quote(fields[1])
	}
	b.Stmts = n
	count, err = strconv.ParseInt(fields[2], 10, 64)
	if err != nil || count < 0 {
		return "", b, 0, strings.LastIndexByte(line, ' ') + 2, "bad hit count " + strconv.Quote(fields[2])
	}
	return file, b, count, 0, ""
}

func lineDotCol(s string) (int, int, error) {
	l, c, ok := strings.Cut(s, ".")
	if !ok {
		return 0, 0, strconv.ErrSyntax
	}
	line, err := strconv.Atoi(l)
	if err != nil || line < 0 {
		return 0, 0, strconv.ErrSyntax
	}
	col, err := strconv.Atoi(c)
	if err != nil || col < 0 {
		return 0, 0, strconv.ErrSyntax
	}
	return line, col, nil
}

// maxBlockLines bounds how many lines one block may span, so a corrupt
// profile cannot make us allocate without limit.
const maxBlockLines = 10000

// goLines turns blocks into per-line hits the way gocover-cobertura does:
// blocks in source order, every line a block spans gets its count, and a
// line shared by consecutive blocks keeps the smaller count (a line is
// covered only when everything on it ran).
func goLines(blocks map[Block]int64) map[int]int64 {
	keys := slices.SortedFunc(maps.Keys(blocks), func(a, b Block) int {
		return cmp.Or(cmp.Compare(a.StartLine, b.StartLine), cmp.Compare(a.StartCol, b.StartCol),
			cmp.Compare(a.EndLine, b.EndLine), cmp.Compare(a.EndCol, b.EndCol), cmp.Compare(a.Stmts, b.Stmts))
	})
	lines := map[int]int64{}
	for _, b := range keys {
		n := blocks[b]
		end := b.EndLine
		if end-b.StartLine > maxBlockLines {
			end = b.StartLine + maxBlockLines
		}
		for l := b.StartLine; l <= end; l++ {
			if old, seen := lines[l]; !seen || n > old {
				lines[l] = n
			}
		}
	}
	return lines
}
