package inventory

import (
	"fmt"
	"strconv"
	"strings"
)

// Pos is a 1-based line and column in a source file.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// SyntaxError is a parse error at a position of a file.
type SyntaxError struct {
	File string
	Pos  Pos
	Msg  string
}

// Error formats the error as file:line:col: message.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// TermKind tells which Erlang or Elixir term a Term holds.
type TermKind int

// The kinds of terms the Erlang and Elixir readers produce.
const (
	TAtom TermKind = iota
	TString
	TBinary
	TInt
	TFloat
	TTuple
	TList
	TMap
	TVar
)

// Term is one parsed Erlang (or Elixir) literal term: enough of the language
// for rebar.config, rebar.lock, .app.src and mix.lock files.
type Term struct {
	Kind  TermKind
	Pos   Pos
	Str   string // atom, string, binary text, variable name, number text
	Items []Term // tuple/list items; maps: key, value, key, value...
}

// IsAtom reports whether t is the atom name.
func (t Term) IsAtom(name string) bool { return t.Kind == TAtom && t.Str == name }

// Text returns the text of a string, binary or atom term.
func (t Term) Text() (string, bool) {
	switch t.Kind {
	case TString, TBinary, TAtom:
		return t.Str, true
	}
	return "", false
}

// Proplist looks key up in a list of {key, value} tuples (or an Elixir
// keyword list) and returns the value.
func (t Term) Proplist(key string) (Term, bool) {
	if t.Kind != TList {
		return Term{}, false
	}
	for _, it := range t.Items {
		if it.Kind == TTuple && len(it.Items) >= 2 && it.Items[0].IsAtom(key) {
			return it.Items[1], true
		}
	}
	return Term{}, false
}

// erlLexer walks Erlang source text.
type erlLexer struct {
	file string
	src  string
	off  int
	line int
	col  int
	// elixir switches comments to '#'.
	elixir bool
}

func (l *erlLexer) errf(p Pos, format string, args ...any) error {
	return &SyntaxError{File: l.file, Pos: p, Msg: fmt.Sprintf(format, args...)}
}

func (l *erlLexer) pos() Pos { return Pos{l.line, l.col} }

func (l *erlLexer) peek() byte {
	if l.off >= len(l.src) {
		return 0
	}
	return l.src[l.off]
}

func (l *erlLexer) advance() byte {
	c := l.src[l.off]
	l.off++
	if c == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	return c
}

// skip skips white space and % comments.
func (l *erlLexer) skip() {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == '%' && !l.elixir, c == '#' && l.elixir:
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance()
			}
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v':
			l.advance()
		default:
			return
		}
	}
}

// ParseErlangTerms parses a file of dot-terminated Erlang terms (the format
// of rebar.config, rebar.lock and .app.src files; file:consult/1).
func ParseErlangTerms(file string, src []byte) ([]Term, error) {
	l := &erlLexer{file: file, src: string(src), line: 1, col: 1}
	var out []Term
	for {
		l.skip()
		if l.off >= len(l.src) {
			return out, nil
		}
		t, err := l.term(0)
		if err != nil {
			return out, err
		}
		l.skip()
		if l.peek() != '.' {
			return out, l.errf(l.pos(), "expected '.' after term, found %s", l.describe())
		}
		l.advance()
		out = append(out, t)
	}
}

func (l *erlLexer) describe() string {
	if l.off >= len(l.src) {
		return "end of file"
	}
	return strconv.QuoteRune(rune(l.src[l.off]))
}

const maxDepth = 200

func (l *erlLexer) term(depth int) (Term, error) {
	if depth > maxDepth {
		return Term{}, l.errf(l.pos(), "terms nested too deeply")
	}
	l.skip()
	p := l.pos()
	if l.off >= len(l.src) {
		return Term{}, l.errf(p, "unexpected end of file, expected a term")
	}
	c := l.peek()
	switch {
	case c == '{':
		l.advance()
		items, err := l.seq('}', depth)
		return Term{Kind: TTuple, Pos: p, Items: items}, err
	case c == '[':
		l.advance()
		items, err := l.seq(']', depth)
		return Term{Kind: TList, Pos: p, Items: items}, err
	case c == '#':
		l.advance()
		if l.peek() != '{' {
			return Term{}, l.errf(p, "expected '{' after '#'")
		}
		l.advance()
		return l.erlMap(p, depth)
	case c == '<' && strings.HasPrefix(l.src[l.off:], "<<"):
		l.advance()
		l.advance()
		return l.binary(p)
	case c == '"':
		s, err := l.quoted('"')
		return Term{Kind: TString, Pos: p, Str: s}, err
	case c == '\'':
		s, err := l.quoted('\'')
		return Term{Kind: TAtom, Pos: p, Str: s}, err
	case c == '$':
		l.advance()
		if l.off >= len(l.src) {
			return Term{}, l.errf(p, "unexpected end of file after '$'")
		}
		ch := l.advance()
		if ch == '\\' && l.off < len(l.src) {
			ch = l.advance()
		}
		return Term{Kind: TInt, Pos: p, Str: strconv.Itoa(int(ch))}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return l.number(p)
	case c >= 'a' && c <= 'z':
		return Term{Kind: TAtom, Pos: p, Str: l.word()}, nil
	case c >= 'A' && c <= 'Z' || c == '_':
		return Term{Kind: TVar, Pos: p, Str: l.word()}, nil
	}
	return Term{}, l.errf(p, "unexpected %s, expected a term", l.describe())
}

func (l *erlLexer) word() string {
	start := l.off
	for l.off < len(l.src) {
		c := l.src[l.off]
		if c == '_' || c == '@' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			l.advance()
			continue
		}
		break
	}
	return l.src[start:l.off]
}

func (l *erlLexer) number(p Pos) (Term, error) {
	start := l.off
	if l.peek() == '-' {
		l.advance()
	}
	if c := l.peek(); c < '0' || c > '9' {
		return Term{}, l.errf(p, "expected a digit after '-'")
	}
	kind := TInt
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c >= '0' && c <= '9', c == '_', c == '#', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			l.advance()
		case c == '.' && l.off+1 < len(l.src) && l.src[l.off+1] >= '0' && l.src[l.off+1] <= '9':
			kind = TFloat
			l.advance()
		case (c == '+' || c == '-') && kind == TFloat && (l.src[l.off-1] == 'e' || l.src[l.off-1] == 'E'):
			l.advance()
		default:
			return Term{Kind: kind, Pos: p, Str: l.src[start:l.off]}, nil
		}
	}
	return Term{Kind: kind, Pos: p, Str: l.src[start:l.off]}, nil
}

func (l *erlLexer) quoted(q byte) (string, error) {
	p := l.pos()
	l.advance()
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return "", l.errf(p, "unterminated %c-quoted text", q)
		}
		c := l.advance()
		switch c {
		case q:
			return b.String(), nil
		case '\\':
			if l.off >= len(l.src) {
				return "", l.errf(p, "unterminated %c-quoted text", q)
			}
			e := l.advance()
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 's':
				b.WriteByte(' ')
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
}

func (l *erlLexer) binary(p Pos) (Term, error) {
	var b strings.Builder
	for {
		l.skip()
		if strings.HasPrefix(l.src[l.off:], ">>") {
			l.advance()
			l.advance()
			return Term{Kind: TBinary, Pos: p, Str: b.String()}, nil
		}
		switch c := l.peek(); {
		case c == '"':
			s, err := l.quoted('"')
			if err != nil {
				return Term{}, err
			}
			b.WriteString(s)
		case c >= '0' && c <= '9':
			t, err := l.number(l.pos())
			if err != nil {
				return Term{}, err
			}
			n, err := strconv.Atoi(t.Str)
			if err != nil || n < 0 || n > 255 {
				return Term{}, l.errf(t.Pos, "binary segment %q is not a byte", t.Str)
			}
			b.WriteByte(byte(n))
		default:
			return Term{}, l.errf(l.pos(), "unexpected %s in binary", l.describe())
		}
		l.skip()
		if l.peek() == ',' {
			l.advance()
		}
	}
}

func (l *erlLexer) seq(end byte, depth int) ([]Term, error) {
	var items []Term
	l.skip()
	if l.peek() == end {
		l.advance()
		return items, nil
	}
	for {
		t, err := l.term(depth + 1)
		if err != nil {
			return items, err
		}
		items = append(items, t)
		l.skip()
		switch c := l.peek(); {
		case c == ',':
			l.advance()
		case c == end:
			l.advance()
			return items, nil
		case c == '|' && end == ']':
			l.advance()
			tail, err := l.term(depth + 1)
			if err != nil {
				return items, err
			}
			if tail.Kind == TList {
				items = append(items, tail.Items...)
			} else {
				items = append(items, tail)
			}
			l.skip()
			if l.peek() != ']' {
				return items, l.errf(l.pos(), "expected ']' after list tail, found %s", l.describe())
			}
			l.advance()
			return items, nil
		default:
			return items, l.errf(l.pos(), "expected ',' or '%c', found %s", end, l.describe())
		}
	}
}

func (l *erlLexer) erlMap(p Pos, depth int) (Term, error) {
	m := Term{Kind: TMap, Pos: p}
	l.skip()
	if l.peek() == '}' {
		l.advance()
		return m, nil
	}
	for {
		k, err := l.term(depth + 1)
		if err != nil {
			return m, err
		}
		l.skip()
		if !strings.HasPrefix(l.src[l.off:], "=>") && !strings.HasPrefix(l.src[l.off:], ":=") {
			return m, l.errf(l.pos(), "expected '=>' in map, found %s", l.describe())
		}
		l.advance()
		l.advance()
		v, err := l.term(depth + 1)
		if err != nil {
			return m, err
		}
		m.Items = append(m.Items, k, v)
		l.skip()
		switch l.peek() {
		case ',':
			l.advance()
		case '}':
			l.advance()
			return m, nil
		default:
			return m, l.errf(l.pos(), "expected ',' or '}' in map, found %s", l.describe())
		}
	}
}
