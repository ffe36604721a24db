package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// kind of a YAML node after anchors, aliases and tags are resolved.
type nodeKind int

const (
	nullNode nodeKind = iota
	mapNode
	seqNode
	strNode
	intNode
	floatNode
	boolNode
)

func (k nodeKind) String() string {
	return [...]string{"null", "object", "array", "string", "integer", "number", "boolean"}[k]
}

// node is a YAML value with its position: the small plain tree the schema
// walk and the checks read. Aliases point at the anchored node (shared, not
// copied), so the tree is a DAG; walks carry a budget.
type node struct {
	kind      nodeKind
	value     string // scalar text
	keys      []*node
	vals      []*node
	items     []*node
	line, col int
	// dup marks map keys that repeat an earlier key (index into keys).
	dups []int
}

// get returns a map's value for key, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != mapNode {
		return nil
	}
	for i := len(n.keys) - 1; i >= 0; i-- { // last one wins, as in JSON decoders
		if n.keys[i].value == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *node) str(key string) string {
	if v := n.get(key); v != nil && v.kind != mapNode && v.kind != seqNode && v.kind != nullNode {
		return v.value
	}
	return ""
}

// at follows a path of map keys (string) and list indexes (int); it
// returns the deepest node reached, so a finding about a missing field
// points at its parent.
func (n *node) at(path ...any) *node {
	cur := n
	for _, p := range path {
		var next *node
		switch p := p.(type) {
		case string:
			next = cur.get(p)
		case int:
			if cur.kind == seqNode && p >= 0 && p < len(cur.items) {
				next = cur.items[p]
			}
		}
		if next == nil {
			return cur
		}
		cur = next
	}
	return cur
}

// keyAt returns the key node for key in map n (for pointing at a field
// name rather than its value).
func (n *node) keyAt(key string) *node {
	if n == nil || n.kind != mapNode {
		return nil
	}
	for i := len(n.keys) - 1; i >= 0; i-- {
		if n.keys[i].value == key {
			return n.keys[i]
		}
	}
	return nil
}

// maxNodes bounds the work of any walk over one document, so a YAML alias
// bomb costs a finding rather than the machine.
const maxNodes = 1_000_000

// toAny converts the tree to the JSON-shaped value encoding/json reads
// (for typed decoding into k8s.io/api structs). Budget guards alias bombs.
func (n *node) toAny(budget *int) any {
	*budget--
	if *budget < 0 || n == nil {
		return nil
	}
	switch n.kind {
	case mapNode:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k.value] = n.vals[i].toAny(budget)
		}
		return m
	case seqNode:
		s := make([]any, len(n.items))
		for i, it := range n.items {
			s[i] = it.toAny(budget)
		}
		return s
	case intNode:
		if i, err := strconv.ParseInt(n.value, 0, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(n.value, 64)
		return f
	case floatNode:
		f, err := strconv.ParseFloat(n.value, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return n.value
		}
		return f
	case boolNode:
		return n.value == "true"
	case strNode:
		return n.value
	}
	return nil
}

// document is one YAML document of a stream with its root node.
type document struct {
	root *node
	line int // first line of the document
}

// parseError is a YAML syntax error with its position.
type parseError struct {
	line, col int
	msg       string
}

func (e *parseError) Error() string { return fmt.Sprintf("%d:%d: %s", e.line, e.col, e.msg) }

// parseStream parses a (multi-document) YAML stream. Duplicate map keys are
// kept and marked, so the caller can report them as a strictness finding.
func parseStream(src []byte) ([]document, error) {
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, toParseError(err)
	}
	var docs []document
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		c := &converter{anchors: map[string]*node{}}
		root := c.convert(d.Body, 0)
		if c.err != nil {
			return docs, c.err
		}
		if root == nil || root.kind == nullNode {
			continue
		}
		docs = append(docs, document{root: root, line: root.line})
	}
	return docs, nil
}

func toParseError(err error) *parseError {
	var ye yaml.Error
	if errors.As(err, &ye) {
		pe := &parseError{line: 1, col: 1, msg: ye.GetMessage()}
		if t := ye.GetToken(); t != nil && t.Position != nil {
			pe.line, pe.col = t.Position.Line, t.Position.Column
		}
		return pe
	}
	return &parseError{line: 1, col: 1, msg: err.Error()}
}

type converter struct {
	anchors map[string]*node
	err     *parseError
}

const maxDepth = 200

func pos(n ast.Node) (int, int) {
	if t := n.GetToken(); t != nil && t.Position != nil {
		return t.Position.Line, t.Position.Column
	}
	return 0, 0
}

func (c *converter) fail(n ast.Node, format string, args ...any) *node {
	if c.err == nil {
		l, col := pos(n)
		c.err = &parseError{line: l, col: col, msg: fmt.Sprintf(format, args...)}
	}
	return &node{kind: nullNode}
}

func (c *converter) convert(n ast.Node, depth int) *node {
	if n == nil {
		return &node{kind: nullNode}
	}
	if depth > maxDepth {
		return c.fail(n, "document nested deeper than %d levels", maxDepth)
	}
	line, col := pos(n)
	out := &node{line: line, col: col}
	switch v := n.(type) {
	case *ast.NullNode:
		out.kind = nullNode
	case *ast.StringNode:
		out.kind, out.value = strNode, v.Value
	case *ast.LiteralNode:
		out.kind = strNode
		if v.Value != nil {
			out.value = v.Value.Value
		}
	case *ast.IntegerNode:
		out.kind, out.value = intNode, v.GetToken().Value
	case *ast.FloatNode:
		out.kind, out.value = floatNode, v.GetToken().Value
	case *ast.InfinityNode, *ast.NanNode:
		out.kind, out.value = floatNode, v.GetToken().Value
	case *ast.BoolNode:
		out.kind, out.value = boolNode, strconv.FormatBool(v.Value)
	case *ast.TagNode:
		inner := c.convert(v.Value, depth+1)
		switch tag := v.Start.Value; tag {
		case "!!str":
			if inner.kind != mapNode && inner.kind != seqNode {
				inner.kind = strNode
			}
		case "!!int":
			if inner.kind == strNode {
				inner.kind = intNode
			}
		}
		return inner
	case *ast.AnchorNode:
		inner := c.convert(v.Value, depth+1)
		if v.Name != nil {
			c.anchors[v.Name.GetToken().Value] = inner
		}
		return inner
	case *ast.AliasNode:
		name := ""
		if v.Value != nil {
			name = v.Value.GetToken().Value
		}
		a, ok := c.anchors[name]
		if !ok {
			return c.fail(n, "unknown alias %q", name)
		}
		return a
	case *ast.MappingNode:
		out.kind = mapNode
		for _, mv := range v.Values {
			c.addPair(out, mv, depth)
		}
	case *ast.MappingValueNode:
		out.kind = mapNode
		c.addPair(out, v, depth)
	case *ast.SequenceNode:
		out.kind = seqNode
		for _, it := range v.Values {
			out.items = append(out.items, c.convert(it, depth+1))
		}
	case *ast.DocumentNode:
		return c.convert(v.Body, depth+1)
	case *ast.CommentNode, *ast.CommentGroupNode:
		out.kind = nullNode
	default:
		return c.fail(n, "unsupported YAML node %s", n.Type())
	}
	return out
}

func (c *converter) addPair(m *node, mv *ast.MappingValueNode, depth int) {
	if mv == nil {
		return
	}
	if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
		src := c.convert(mv.Value, depth+1)
		merge := func(s *node) {
			if s.kind != mapNode {
				return
			}
			for i, k := range s.keys {
				if m.get(k.value) == nil {
					m.keys = append(m.keys, k)
					m.vals = append(m.vals, s.vals[i])
				}
			}
		}
		if src.kind == seqNode {
			for _, it := range src.items {
				merge(it)
			}
		} else {
			merge(src)
		}
		return
	}
	var keyAST ast.Node = mv.Key
	if mk, ok := keyAST.(*ast.MappingKeyNode); ok {
		keyAST = mk.Value
	}
	k := c.convert(keyAST, depth+1)
	if k.kind == mapNode || k.kind == seqNode {
		c.fail(keyAST, "a mapping key must be a scalar")
		return
	}
	if k.kind == nullNode {
		k.value = "null"
	}
	if prev := m.keyAt(k.value); prev != nil {
		m.dups = append(m.dups, len(m.keys))
	}
	k.kind = strNode
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, c.convert(mv.Value, depth+1))
}

// looksLikeManifest reports whether any document of the text has a
// top-level apiVersion and kind: JSON is decoded, YAML is scanned for the
// two keys at column 0 within one document.
func looksLikeManifest(src []byte) bool {
	if t := bytes.TrimSpace(src); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		var v any
		if json.Unmarshal(t, &v) != nil {
			return false
		}
		isObj := func(v any) bool {
			m, ok := v.(map[string]any)
			if !ok {
				return false
			}
			_, a := m["apiVersion"].(string)
			_, k := m["kind"].(string)
			return a && k
		}
		if l, ok := v.([]any); ok {
			return slices.ContainsFunc(l, isObj)
		}
		return isObj(v)
	}
	var api, kind bool
	for line := range strings.SplitSeq(string(src), "\n") {
		switch {
		case strings.HasPrefix(line, "---"):
			api, kind = false, false
		case strings.HasPrefix(line, "apiVersion:"), strings.HasPrefix(line, `"apiVersion":`):
			api = true
		case strings.HasPrefix(line, "kind:"), strings.HasPrefix(line, `"kind":`):
			kind = true
		}
		if api && kind {
			return true
		}
	}
	return false
}
