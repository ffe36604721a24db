package inventory

import "strings"

// ParseElixirTerm parses one Elixir literal term, the format of mix.lock:
// maps (%{"k": v} and %{k => v}), tuples, lists, keyword lists (as
// {atom, value} tuples), :atoms, "strings", numbers, true/false/nil.
func ParseElixirTerm(file string, src []byte) (Term, error) {
	l := &erlLexer{file: file, src: string(src), line: 1, col: 1, elixir: true}
	l.skip()
	if l.off >= len(l.src) {
		return Term{Kind: TMap, Pos: l.pos()}, nil
	}
	t, err := l.exTerm(0)
	if err != nil {
		return t, err
	}
	l.skip()
	if l.off < len(l.src) {
		return t, l.errf(l.pos(), "unexpected %s after the term", l.describe())
	}
	return t, nil
}

func (l *erlLexer) exTerm(depth int) (Term, error) {
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
	case c == '%' && strings.HasPrefix(l.src[l.off:], "%{"):
		l.advance()
		l.advance()
		return l.exMap(p, depth)
	case c == '{':
		l.advance()
		items, err := l.exSeq('}', depth)
		return Term{Kind: TTuple, Pos: p, Items: items}, err
	case c == '[':
		l.advance()
		items, err := l.exSeq(']', depth)
		return Term{Kind: TList, Pos: p, Items: items}, err
	case c == '"':
		s, err := l.quoted('"')
		return Term{Kind: TString, Pos: p, Str: s}, err
	case c == ':':
		l.advance()
		if l.peek() == '"' {
			s, err := l.quoted('"')
			return Term{Kind: TAtom, Pos: p, Str: s}, err
		}
		w := l.exWord()
		if w == "" {
			return Term{}, l.errf(p, "expected an atom name after ':'")
		}
		return Term{Kind: TAtom, Pos: p, Str: w}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return l.number(p)
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
		w := l.exWord()
		switch w {
		case "true", "false", "nil":
			return Term{Kind: TAtom, Pos: p, Str: w}, nil
		}
		return Term{Kind: TVar, Pos: p, Str: w}, nil
	}
	return Term{}, l.errf(p, "unexpected %s, expected a term", l.describe())
}

func (l *erlLexer) exWord() string {
	start := l.off
	for l.off < len(l.src) {
		c := l.src[l.off]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' && l.off > start {
			l.advance()
			continue
		}
		if (c == '?' || c == '!') && l.off > start {
			l.advance()
		}
		break
	}
	return l.src[start:l.off]
}

// keywordKey reads `name:` followed by white space (a keyword-list key) if
// one starts here, and returns the name.
func (l *erlLexer) keywordKey() (string, bool) {
	save := *l
	c := l.peek()
	if c == '"' {
		s, err := l.quoted('"')
		if err == nil && l.peek() == ':' && l.off+1 < len(l.src) && isSpace(l.src[l.off+1]) {
			l.advance()
			return s, true
		}
		*l = save
		return "", false
	}
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
		return "", false
	}
	w := l.exWord()
	if l.peek() == ':' && l.off+1 < len(l.src) && isSpace(l.src[l.off+1]) {
		l.advance()
		return w, true
	}
	*l = save
	return "", false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (l *erlLexer) exSeq(end byte, depth int) ([]Term, error) {
	var items []Term
	for {
		l.skip()
		if l.peek() == end {
			l.advance()
			return items, nil
		}
		p := l.pos()
		if k, ok := l.keywordKey(); ok {
			v, err := l.exTerm(depth + 1)
			if err != nil {
				return items, err
			}
			items = append(items, Term{Kind: TTuple, Pos: p, Items: []Term{{Kind: TAtom, Pos: p, Str: k}, v}})
		} else {
			t, err := l.exTerm(depth + 1)
			if err != nil {
				return items, err
			}
			items = append(items, t)
		}
		l.skip()
		switch l.peek() {
		case ',':
			l.advance()
		case end:
			l.advance()
			return items, nil
		default:
			return items, l.errf(l.pos(), "expected ',' or '%c', found %s", end, l.describe())
		}
	}
}

func (l *erlLexer) exMap(p Pos, depth int) (Term, error) {
	m := Term{Kind: TMap, Pos: p}
	for {
		l.skip()
		if l.peek() == '}' {
			l.advance()
			return m, nil
		}
		kp := l.pos()
		var k Term
		if name, ok := l.keywordKey(); ok {
			k = Term{Kind: TString, Pos: kp, Str: name}
		} else {
			var err error
			k, err = l.exTerm(depth + 1)
			if err != nil {
				return m, err
			}
			l.skip()
			if !strings.HasPrefix(l.src[l.off:], "=>") {
				return m, l.errf(l.pos(), "expected '=>' or 'key:' in map, found %s", l.describe())
			}
			l.advance()
			l.advance()
		}
		v, err := l.exTerm(depth + 1)
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
