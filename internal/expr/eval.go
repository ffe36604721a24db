package expr

import (
	"fmt"
	"math"
	"strings"

	"github.com/rhysd/actionlint"
)

// StatusFuncs answers the status functions for the step or job being
// evaluated. A nil StatusFuncs means "everything so far succeeded".
type StatusFuncs interface {
	// Succeeded is success(): no earlier step or needed job failed or was cancelled.
	Succeeded() bool
	// Failed is failure(): an earlier step or needed job failed.
	Failed() bool
	// Cancelled is cancelled(): the run was cancelled.
	Cancelled() bool
}

// Context is what an expression can see.
type Context struct {
	// Contexts maps a context name (github, env, matrix, ...) to its value.
	// Names are matched case-insensitively.
	Contexts map[string]any
	// Status answers success(), failure() and cancelled().
	Status StatusFuncs
	// HashFiles computes hashFiles(); nil makes it an error.
	HashFiles func(patterns []string) (string, error)
}

// Error is an evaluation or syntax error with the column (1-based, within
// the expression text) where it happened.
type Error struct {
	Col     int
	Message string
}

func (e *Error) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("col %d: %s", e.Col, e.Message)
	}
	return e.Message
}

// Parse parses an expression (the text between `${{` and `}}`).
func Parse(src string) (actionlint.ExprNode, error) {
	node, perr := actionlint.NewExprParser().Parse(actionlint.NewExprLexer(src + "}}"))
	if perr != nil {
		return nil, &Error{Col: perr.Column, Message: perr.Message}
	}
	return node, nil
}

// Eval parses and evaluates one expression.
func Eval(src string, c *Context) (any, error) {
	node, err := Parse(src)
	if err != nil {
		return nil, err
	}
	return EvalNode(node, c)
}

// EvalNode evaluates a parsed expression.
func EvalNode(node actionlint.ExprNode, c *Context) (v any, err error) {
	if c == nil {
		c = &Context{}
	}
	e := &evaluator{c: c}
	return e.eval(node)
}

type evaluator struct{ c *Context }

func (e *evaluator) fail(n actionlint.ExprNode, format string, args ...any) error {
	col := 0
	if t := n.Token(); t != nil {
		col = t.Offset + 1
	}
	return &Error{Col: col, Message: fmt.Sprintf(format, args...)}
}

func (e *evaluator) eval(n actionlint.ExprNode) (any, error) {
	switch n := n.(type) {
	case *actionlint.NullNode:
		return nil, nil
	case *actionlint.BoolNode:
		return n.Value, nil
	case *actionlint.IntNode:
		return float64(n.Value), nil
	case *actionlint.FloatNode:
		return n.Value, nil
	case *actionlint.StringNode:
		return n.Value, nil
	case *actionlint.VariableNode:
		for name, v := range e.c.Contexts {
			if strings.EqualFold(name, n.Name) {
				return v, nil
			}
		}
		return nil, e.fail(n, "unknown context %q", n.Name)
	case *actionlint.ObjectDerefNode:
		recv, err := e.eval(n.Receiver)
		if err != nil {
			return nil, err
		}
		return property(recv, n.Property), nil
	case *actionlint.ArrayDerefNode:
		recv, err := e.eval(n.Receiver)
		if err != nil {
			return nil, err
		}
		return filter(recv), nil
	case *actionlint.IndexAccessNode:
		recv, err := e.eval(n.Operand)
		if err != nil {
			return nil, err
		}
		idx, err := e.eval(n.Index)
		if err != nil {
			return nil, err
		}
		return index(recv, idx), nil
	case *actionlint.NotOpNode:
		v, err := e.eval(n.Operand)
		if err != nil {
			return nil, err
		}
		return !Truthy(v), nil
	case *actionlint.CompareOpNode:
		l, err := e.eval(n.Left)
		if err != nil {
			return nil, err
		}
		r, err := e.eval(n.Right)
		if err != nil {
			return nil, err
		}
		l, r = unfilter(l), unfilter(r)
		switch n.Kind {
		case actionlint.CompareOpNodeKindEq:
			return LooseEqual(l, r), nil
		case actionlint.CompareOpNodeKindNotEq:
			return !LooseEqual(l, r), nil
		}
		c, ok := compare(l, r)
		if !ok {
			return false, nil
		}
		switch n.Kind {
		case actionlint.CompareOpNodeKindLess:
			return c < 0, nil
		case actionlint.CompareOpNodeKindLessEq:
			return c <= 0, nil
		case actionlint.CompareOpNodeKindGreater:
			return c > 0, nil
		case actionlint.CompareOpNodeKindGreaterEq:
			return c >= 0, nil
		}
		return nil, e.fail(n, "unknown comparison")
	case *actionlint.LogicalOpNode:
		l, err := e.eval(n.Left)
		if err != nil {
			return nil, err
		}
		l = unfilter(l)
		switch n.Kind {
		case actionlint.LogicalOpNodeKindAnd:
			if !Truthy(l) {
				return l, nil
			}
		case actionlint.LogicalOpNodeKindOr:
			if Truthy(l) {
				return l, nil
			}
		}
		r, err := e.eval(n.Right)
		return unfilter(r), err
	case *actionlint.FuncCallNode:
		return e.call(n)
	}
	return nil, e.fail(n, "unsupported expression node %T", n)
}

func unfilter(v any) any {
	if f, ok := v.(filtered); ok {
		return []any(f)
	}
	return v
}

// property looks up a property case-insensitively; on a filtered array it
// maps over the elements, dropping those without it.
func property(recv any, name string) any {
	switch r := recv.(type) {
	case map[string]any:
		if v, ok := r[name]; ok {
			return v
		}
		for k, v := range r {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return nil
	case filtered:
		out := filtered{}
		for _, el := range r {
			if m, ok := el.(map[string]any); ok {
				if v, found := lookup(m, name); found {
					out = append(out, v)
				}
			}
		}
		return out
	}
	return nil
}

func lookup(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// filter is `recv.*`: an array's elements or an object's values; on an
// already filtered array it flattens one level.
func filter(recv any) any {
	switch r := recv.(type) {
	case []any:
		return filtered(append([]any(nil), r...))
	case map[string]any:
		keys := sortedKeys(r)
		out := make(filtered, 0, len(keys))
		for _, k := range keys {
			out = append(out, r[k])
		}
		return out
	case filtered:
		out := filtered{}
		for _, el := range r {
			switch el := el.(type) {
			case []any:
				out = append(out, el...)
			case map[string]any:
				for _, k := range sortedKeys(el) {
					out = append(out, el[k])
				}
			}
		}
		return out
	}
	return filtered{}
}

func index(recv, idx any) any {
	switch r := recv.(type) {
	case map[string]any:
		if s, ok := idx.(string); ok {
			v, _ := lookup(r, s)
			return v
		}
		return property(r, ToString(idx))
	case []any, filtered:
		arr := unfilter(r).([]any)
		if _, isStr := idx.(string); isStr {
			if _, ok := r.(filtered); ok {
				return property(r, idx.(string))
			}
			return nil
		}
		f := ToNumber(idx)
		if math.IsNaN(f) || f < 0 {
			return nil
		}
		i := int(math.Floor(f))
		if i >= len(arr) {
			return nil
		}
		return arr[i]
	}
	return nil
}
