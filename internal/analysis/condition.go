package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Condition is a parsed successCondition or failureCondition: comparisons
// of `result` (or `result[0]`) with numbers, joined by && and ||, with
// parentheses and !, as in Argo Rollouts' expressions:
//
//	result < 0.05
//	result[0] >= 0.95 && result[0] <= 1
//
// Over a vector with several samples `result` must hold for every sample;
// `result[i]` picks one.
type Condition struct {
	src  string
	root cnode
}

// String is the condition's source text.
func (c *Condition) String() string { return c.src }

type cnode interface {
	eval(vals []float64) (bool, error)
}

type (
	orNode  struct{ l, r cnode }
	andNode struct{ l, r cnode }
	notNode struct{ x cnode }
	cmpNode struct {
		op   string
		l, r operand
	}
	operand struct {
		result bool
		index  int // -1: every sample
		num    float64
	}
)

func (n orNode) eval(v []float64) (bool, error) {
	a, err := n.l.eval(v)
	if err != nil || a {
		return a, err
	}
	return n.r.eval(v)
}

func (n andNode) eval(v []float64) (bool, error) {
	a, err := n.l.eval(v)
	if err != nil || !a {
		return a, err
	}
	return n.r.eval(v)
}

func (n notNode) eval(v []float64) (bool, error) {
	a, err := n.x.eval(v)
	return !a, err
}

func (o operand) values(v []float64) ([]float64, error) {
	if !o.result {
		return []float64{o.num}, nil
	}
	if o.index >= 0 {
		if o.index >= len(v) {
			return nil, fmt.Errorf("result[%d]: the query returned %d samples", o.index, len(v))
		}
		return v[o.index : o.index+1], nil
	}
	return v, nil
}

func (n cmpNode) eval(v []float64) (bool, error) {
	ls, err := n.l.values(v)
	if err != nil {
		return false, err
	}
	rs, err := n.r.values(v)
	if err != nil {
		return false, err
	}
	for _, a := range ls {
		for _, b := range rs {
			if !compare(n.op, a, b) {
				return false, nil
			}
		}
	}
	return true, nil
}

func compare(op string, a, b float64) bool {
	switch op {
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "==":
		return a == b
	case "!=":
		return a != b
	}
	return false
}

// ParseCondition parses a condition. The error gives the column (1-based)
// of the problem.
func ParseCondition(src string) (*Condition, error) {
	p := &cparser{src: src}
	p.next()
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.tok != "" {
		return nil, p.errorf("unexpected %q", p.tok)
	}
	return &Condition{src: src, root: n}, nil
}

// Eval evaluates the condition over a query's samples. NaN samples and an
// empty result are the caller's business (they make a measurement
// inconclusive before a condition is looked at).
func (c *Condition) Eval(vals []float64) (bool, error) { return c.root.eval(vals) }

type cparser struct {
	src      string
	pos      int // position after tok
	tokStart int
	tok      string
}

func (p *cparser) errorf(format string, args ...any) error {
	return fmt.Errorf("condition %q, column %d: %s", p.src, p.tokStart+1, fmt.Sprintf(format, args...))
}

func (p *cparser) next() {
	s := p.src
	for p.pos < len(s) && unicode.IsSpace(rune(s[p.pos])) {
		p.pos++
	}
	p.tokStart = p.pos
	if p.pos >= len(s) {
		p.tok = ""
		return
	}
	for _, op := range []string{"&&", "||", "<=", ">=", "==", "!=", "<", ">", "(", ")", "!", "[", "]"} {
		if strings.HasPrefix(s[p.pos:], op) {
			p.tok = op
			p.pos += len(op)
			return
		}
	}
	start := p.pos
	for p.pos < len(s) && (unicode.IsLetter(rune(s[p.pos])) || unicode.IsDigit(rune(s[p.pos])) ||
		strings.ContainsRune("._-+eE", rune(s[p.pos]))) {
		// A sign only at the start or after an exponent.
		if (s[p.pos] == '-' || s[p.pos] == '+') && p.pos > start && s[p.pos-1] != 'e' && s[p.pos-1] != 'E' {
			break
		}
		p.pos++
	}
	if p.pos == start {
		p.pos++
	}
	p.tok = s[start:p.pos]
}

func (p *cparser) or() (cnode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.tok == "||" {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *cparser) and() (cnode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.tok == "&&" {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *cparser) unary() (cnode, error) {
	switch p.tok {
	case "!":
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case "(":
		p.next()
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.tok != ")" {
			return nil, p.errorf("expected ), found %q", p.tok)
		}
		p.next()
		return x, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	switch op := p.tok; op {
	case "<", "<=", ">", ">=", "==", "!=":
		p.next()
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !l.result && !r.result {
			return nil, p.errorf("comparison of two numbers does not look at the result")
		}
		return cmpNode{op: op, l: l, r: r}, nil
	default:
		return nil, p.errorf("expected a comparison (<, <=, >, >=, ==, !=), found %q", op)
	}
}

func (p *cparser) operand() (operand, error) {
	tok := p.tok
	switch {
	case tok == "result":
		p.next()
		if p.tok != "[" {
			return operand{result: true, index: -1}, nil
		}
		p.next()
		i, err := strconv.Atoi(p.tok)
		if err != nil || i < 0 {
			return operand{}, p.errorf("expected an index, found %q", p.tok)
		}
		p.next()
		if p.tok != "]" {
			return operand{}, p.errorf("expected ], found %q", p.tok)
		}
		p.next()
		return operand{result: true, index: i}, nil
	case tok == "":
		return operand{}, p.errorf("unexpected end of condition")
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil || math.IsNaN(f) {
		return operand{}, p.errorf("expected result or a number, found %q", tok)
	}
	p.next()
	return operand{num: f}, nil
}
