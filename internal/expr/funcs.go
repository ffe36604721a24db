package expr

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/rhysd/actionlint"
)

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// arity is each function's argument count (min, max; -1 for any).
var arity = map[string][2]int{
	"contains":   {2, 2},
	"startswith": {2, 2},
	"endswith":   {2, 2},
	"format":     {1, -1},
	"join":       {1, 2},
	"tojson":     {1, 1},
	"fromjson":   {1, 1},
	"hashfiles":  {1, -1},
	"success":    {0, 0},
	"always":     {0, 0},
	"cancelled":  {0, 0},
	"failure":    {0, 0},
}

func (e *evaluator) call(n *actionlint.FuncCallNode) (any, error) {
	name := strings.ToLower(n.Callee)
	ar, ok := arity[name]
	if !ok {
		return nil, e.fail(n, "unknown function %q", n.Callee)
	}
	if len(n.Args) < ar[0] || (ar[1] >= 0 && len(n.Args) > ar[1]) {
		return nil, e.fail(n, "%s() takes %s arguments, got %d", n.Callee, arityText(ar), len(n.Args))
	}
	args := make([]any, len(n.Args))
	for i, a := range n.Args {
		v, err := e.eval(a)
		if err != nil {
			return nil, err
		}
		args[i] = unfilter(v)
	}
	switch name {
	case "contains":
		if arr, ok := args[0].([]any); ok {
			return slices.ContainsFunc(arr, func(el any) bool { return LooseEqual(el, args[1]) }), nil
		}
		return strings.Contains(strings.ToLower(ToString(args[0])), strings.ToLower(ToString(args[1]))), nil
	case "startswith":
		return strings.HasPrefix(strings.ToLower(ToString(args[0])), strings.ToLower(ToString(args[1]))), nil
	case "endswith":
		return strings.HasSuffix(strings.ToLower(ToString(args[0])), strings.ToLower(ToString(args[1]))), nil
	case "format":
		s, err := format(ToString(args[0]), args[1:])
		if err != nil {
			return nil, e.fail(n, "format(): %v", err)
		}
		return s, nil
	case "join":
		sep := ","
		if len(args) == 2 {
			sep = ToString(args[1])
		}
		arr, ok := args[0].([]any)
		if !ok {
			return ToString(args[0]), nil
		}
		parts := make([]string, len(arr))
		for i, el := range arr {
			parts[i] = ToString(el)
		}
		return strings.Join(parts, sep), nil
	case "tojson":
		return ToJSON(args[0]), nil
	case "fromjson":
		var v any
		dec := json.NewDecoder(strings.NewReader(ToString(args[0])))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, e.fail(n, "fromJSON(): invalid JSON: %v", err)
		}
		return FromGo(v), nil
	case "hashfiles":
		if e.c.HashFiles == nil {
			return nil, e.fail(n, "hashFiles() is only available in steps")
		}
		pats := make([]string, len(args))
		for i, a := range args {
			pats[i] = ToString(a)
		}
		h, err := e.c.HashFiles(pats)
		if err != nil {
			return nil, e.fail(n, "hashFiles(): %v", err)
		}
		return h, nil
	case "success":
		return e.c.Status == nil || e.c.Status.Succeeded(), nil
	case "always":
		return true, nil
	case "cancelled":
		return e.c.Status != nil && e.c.Status.Cancelled(), nil
	case "failure":
		return e.c.Status != nil && e.c.Status.Failed(), nil
	}
	return nil, e.fail(n, "unknown function %q", n.Callee)
}

func arityText(a [2]int) string {
	switch {
	case a[1] < 0:
		return "at least " + strconv.Itoa(a[0])
	case a[0] == a[1]:
		return strconv.Itoa(a[0])
	}
	return strconv.Itoa(a[0]) + " to " + strconv.Itoa(a[1])
}

// format implements format('{0} {1}', ...) with {{ and }} as literal braces.
func format(f string, args []any) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return "", errorString("unclosed '{' in format string")
			}
			n, err := strconv.Atoi(f[i+1 : i+end])
			if err != nil || n < 0 {
				return "", errorString("invalid placeholder " + f[i:i+end+1])
			}
			if n >= len(args) {
				return "", errorString("placeholder " + f[i:i+end+1] + " has no argument")
			}
			b.WriteString(ToString(args[n]))
			i += end
		case c == '}':
			return "", errorString("unmatched '}' in format string")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

type errorString string

func (e errorString) Error() string { return string(e) }
