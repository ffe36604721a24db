package expr

import (
	"regexp"
	"strings"
)

// Segment is one part of a string that may hold `${{ }}` expressions: either
// literal text or an expression, with its byte offset in the string.
type Segment struct {
	Literal string
	Expr    string
	Offset  int
	IsExpr  bool
}

// Split cuts s into literal text and the expressions inside `${{ }}`. An
// unclosed `${{` is an error at its offset.
func Split(s string) ([]Segment, error) {
	var out []Segment
	pos := 0
	for {
		i := strings.Index(s[pos:], "${{")
		if i < 0 {
			if pos < len(s) {
				out = append(out, Segment{Literal: s[pos:], Offset: pos})
			}
			return out, nil
		}
		start := pos + i
		if start > pos {
			out = append(out, Segment{Literal: s[pos:start], Offset: pos})
		}
		end := closing(s, start+3)
		if end < 0 {
			return nil, &Error{Col: start + 1, Message: "unclosed ${{ expression: no }} found"}
		}
		out = append(out, Segment{Expr: s[start+3 : end], Offset: start + 3, IsExpr: true})
		pos = end + 2
	}
}

// closing finds the `}}` that ends an expression, skipping string literals.
func closing(s string, from int) int {
	inStr := false
	for i := from; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			if inStr && i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			inStr = !inStr
		case !inStr && s[i] == '}' && i+1 < len(s) && s[i+1] == '}':
			return i
		}
	}
	return -1
}

// HasExpr reports whether s holds a `${{`.
func HasExpr(s string) bool { return strings.Contains(s, "${{") }

// Interpolate replaces each `${{ }}` in s with its value as a string.
func Interpolate(s string, c *Context) (string, error) {
	if !HasExpr(s) {
		return s, nil
	}
	segs, err := Split(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, seg := range segs {
		if !seg.IsExpr {
			b.WriteString(seg.Literal)
			continue
		}
		v, err := Eval(seg.Expr, c)
		if err != nil {
			return "", shift(err, seg.Offset)
		}
		b.WriteString(ToString(v))
	}
	return b.String(), nil
}

// Value evaluates s to a value: a string that is exactly one `${{ }}` keeps
// the expression's type (so `${{ fromJSON(x) }}` gives an array); anything
// else interpolates to a string.
func Value(s string, c *Context) (any, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "${{") {
		if segs, err := Split(t); err == nil && len(segs) == 1 && segs[0].IsExpr {
			v, err := Eval(segs[0].Expr, c)
			return unfilter(v), shift(err, strings.Index(s, "${{")+3)
		}
	}
	return Interpolate(s, c)
}

var statusCall = regexp.MustCompile(`(?i)\b(success|failure|cancelled|always)\s*\(`)

// Condition evaluates an `if:` value as GitHub does: the text is an
// expression with or without `${{ }}`, and without a status function it is
// `success() && (...)`. An empty condition is success().
func Condition(s string, c *Context) (bool, error) {
	cond := strings.TrimSpace(s)
	if cond == "" {
		return c == nil || c.Status == nil || c.Status.Succeeded(), nil
	}
	if strings.HasPrefix(cond, "${{") {
		segs, err := Split(cond)
		if err != nil {
			return false, err
		}
		if len(segs) != 1 || !segs[0].IsExpr {
			// Text around the expression: the result is a non-empty string.
			str, err := Interpolate(cond, c)
			return Truthy(str), err
		}
		cond = segs[0].Expr
	}
	if !statusCall.MatchString(stripStrings(cond)) {
		cond = "success() && (" + cond + ")"
	}
	v, err := Eval(cond, c)
	if err != nil {
		return false, err
	}
	return Truthy(v), nil
}

// stripStrings blanks out string literals so a status function named inside
// a string does not count.
func stripStrings(s string) string {
	b := []byte(s)
	in := false
	for i := 0; i < len(b); i++ {
		if b[i] == '\'' {
			in = !in
			continue
		}
		if in {
			b[i] = ' '
		}
	}
	return string(b)
}

func shift(err error, offset int) error {
	if e, ok := err.(*Error); ok && e.Col > 0 {
		return &Error{Col: e.Col + offset, Message: e.Message}
	}
	return err
}
