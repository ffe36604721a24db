package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/workflow"
)

// ErrDynamic means a matrix depends on values only known at run time (for
// example `fromJSON(needs.setup.outputs.matrix)`).
var ErrDynamic = errors.New("matrix depends on values known only at run time")

// MaxLegs is GitHub's limit on the legs of one matrix.
const MaxLegs = 256

// Leg is one matrix combination, with its keys in display order.
type Leg struct {
	Values map[string]any
	Keys   []string
}

// ExpandMatrix expands a job's matrix exactly as GitHub documents it: the
// product of the rows, minus combinations matching an `exclude` entry, then
// each `include` entry added to every combination whose original values it
// does not change, or as a new combination when it fits none. A nil context
// returns ErrDynamic when the matrix holds expressions.
func ExpandMatrix(m *workflow.Matrix, c *expr.Context) ([]Leg, error) {
	if m == nil {
		return []Leg{{Values: map[string]any{}}}, nil
	}
	rows, include, exclude, err := resolve(m, c)
	if err != nil {
		return nil, err
	}
	var keys []string
	combos := []map[string]any{{}}
	for _, r := range rows {
		keys = append(keys, r.name)
		if len(r.values) == 0 {
			return nil, fmt.Errorf("%s: matrix row %q has no values", m.Pos, r.name)
		}
		next := make([]map[string]any, 0, len(combos)*len(r.values))
		for _, base := range combos {
			for _, v := range r.values {
				c := clone(base)
				c[r.name] = v
				next = append(next, c)
			}
		}
		combos = next
	}
	if len(rows) == 0 {
		combos = nil
	}
	combos = slices.DeleteFunc(combos, func(c map[string]any) bool {
		return slices.ContainsFunc(exclude, func(ex map[string]any) bool { return partialMatch(c, ex) })
	})
	originalKeys := slices.Clone(keys)
	// originals remembers each combination's values before includes.
	originals := make([]map[string]any, len(combos))
	for i, c := range combos {
		originals[i] = clone(c)
	}
	for _, inc := range include {
		added := false
		for i, c := range combos {
			if i >= len(originals) {
				break // combinations created by include are not extended
			}
			if conflicts(originals[i], originalKeys, inc) {
				continue
			}
			for k, v := range inc {
				c[k] = v
			}
			added = true
		}
		if !added {
			combos = append(combos, clone(inc))
		}
		for _, k := range sortedKeys(inc) {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	if len(combos) == 0 {
		return nil, fmt.Errorf("%s: the matrix has no combinations left (every one excluded)", m.Pos)
	}
	if len(combos) > MaxLegs {
		return nil, fmt.Errorf("%s: the matrix has %d combinations, over GitHub's limit of %d", m.Pos, len(combos), MaxLegs)
	}
	legs := make([]Leg, len(combos))
	for i, c := range combos {
		var ks []string
		for _, k := range keys {
			if _, ok := c[k]; ok {
				ks = append(ks, k)
			}
		}
		legs[i] = Leg{Values: c, Keys: ks}
	}
	return legs, nil
}

type row struct {
	name   string
	values []any
}

// resolve evaluates the expressions in a matrix.
func resolve(m *workflow.Matrix, c *expr.Context) (rows []row, include, exclude []map[string]any, err error) {
	eval := func(s workflow.String) (any, error) {
		if c == nil {
			return nil, ErrDynamic
		}
		v, err := expr.Value(s.Value, c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Pos, err)
		}
		return v, nil
	}
	if m.Expr.Set {
		v, err := eval(m.Expr)
		if err != nil {
			return nil, nil, nil, err
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, nil, nil, fmt.Errorf("%s: the matrix expression gave %s, not an object", m.Expr.Pos, describe(v))
		}
		for _, k := range sortedKeys(obj) {
			switch k {
			case "include", "exclude":
				list, err := objects(obj[k])
				if err != nil {
					return nil, nil, nil, fmt.Errorf("%s: matrix %s: %w", m.Expr.Pos, k, err)
				}
				if k == "include" {
					include = list
				} else {
					exclude = list
				}
			default:
				arr, ok := obj[k].([]any)
				if !ok {
					return nil, nil, nil, fmt.Errorf("%s: matrix row %q is %s, not an array", m.Expr.Pos, k, describe(obj[k]))
				}
				rows = append(rows, row{k, arr})
			}
		}
		return rows, include, exclude, nil
	}
	for _, r := range m.Rows {
		name := r.Name
		if expr.HasExpr(name) {
			// GitHub evaluates a key written as an expression.
			v, err := eval(workflow.String{Value: name, Pos: r.Pos, Set: true})
			if err != nil {
				return nil, nil, nil, err
			}
			name = expr.ToString(v)
		}
		if r.Expr.Set {
			v, err := eval(r.Expr)
			if err != nil {
				return nil, nil, nil, err
			}
			arr, ok := v.([]any)
			if !ok {
				return nil, nil, nil, fmt.Errorf("%s: matrix row %q gave %s, not an array", r.Expr.Pos, name, describe(v))
			}
			rows = append(rows, row{name, arr})
			continue
		}
		var vals []any
		for _, v := range r.Values {
			ev, err := evalDeep(v, c)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s: %w", r.Pos, err)
			}
			// An element that is one expression giving an array is spread
			// into the row, as GitHub's template sequences are.
			if arr, ok := ev.([]any); ok && isSingleExpr(v) {
				vals = append(vals, arr...)
				continue
			}
			vals = append(vals, ev)
		}
		rows = append(rows, row{name, vals})
	}
	for _, pair := range []struct {
		list []map[string]any
		ex   workflow.String
		out  *[]map[string]any
	}{{m.Include, m.IncludeExpr, &include}, {m.Exclude, m.ExcludeExpr, &exclude}} {
		if pair.ex.Set {
			v, err := eval(pair.ex)
			if err != nil {
				return nil, nil, nil, err
			}
			if *pair.out, err = objects(v); err != nil {
				return nil, nil, nil, fmt.Errorf("%s: %w", pair.ex.Pos, err)
			}
			continue
		}
		for _, obj := range pair.list {
			if e, ok := obj[""]; ok && len(obj) == 1 {
				v, err := eval(workflow.String{Value: expr.ToString(e), Pos: m.Pos, Set: true})
				if err != nil {
					return nil, nil, nil, err
				}
				o, ok := v.(map[string]any)
				if !ok {
					return nil, nil, nil, fmt.Errorf("%s: a matrix include/exclude entry gave %s, not an object", m.Pos, describe(v))
				}
				*pair.out = append(*pair.out, o)
				continue
			}
			v, err := evalDeep(obj, c)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s: %w", m.Pos, err)
			}
			*pair.out = append(*pair.out, v.(map[string]any))
		}
	}
	return rows, include, exclude, nil
}

// isInsert reports whether a mapping key is the `${{ insert }}` directive.
func isInsert(k string) bool {
	k = strings.TrimSpace(k)
	inner, ok := strings.CutPrefix(k, "${{")
	if !ok {
		return false
	}
	inner, ok = strings.CutSuffix(inner, "}}")
	return ok && strings.EqualFold(strings.TrimSpace(inner), "insert")
}

// isSingleExpr reports whether v is a string that is exactly one `${{ }}`.
func isSingleExpr(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	s = strings.TrimSpace(s)
	segs, err := expr.Split(s)
	return err == nil && len(segs) == 1 && segs[0].IsExpr
}

// evalDeep evaluates `${{ }}` inside matrix values.
func evalDeep(v any, c *expr.Context) (any, error) {
	switch v := v.(type) {
	case string:
		if !expr.HasExpr(v) {
			return v, nil
		}
		if c == nil {
			return nil, ErrDynamic
		}
		return expr.Value(v, c)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			var err error
			if out[i], err = evalDeep(e, c); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		var inserts []string
		for k, e := range v {
			if isInsert(k) {
				inserts = append(inserts, k)
				continue
			}
			ev, err := evalDeep(e, c)
			if err != nil {
				return nil, err
			}
			key := k
			if expr.HasExpr(k) {
				if c == nil {
					return nil, ErrDynamic
				}
				kv, err := expr.Interpolate(k, c)
				if err != nil {
					return nil, err
				}
				key = kv
			}
			out[key] = ev
		}
		// `${{ insert }}: MAPPING` merges the mapping into its parent.
		slices.Sort(inserts)
		for _, k := range inserts {
			ev, err := evalDeep(v[k], c)
			if err != nil {
				return nil, err
			}
			m, ok := ev.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("${{ insert }} needs a mapping, got %s", describe(ev))
			}
			for mk, mv := range m {
				out[mk] = mv
			}
		}
		return out, nil
	}
	return v, nil
}

func objects(v any) ([]map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array of objects, got %s", describe(v))
	}
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		o, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("want an array of objects, got an element that is %s", describe(e))
		}
		out = append(out, o)
	}
	return out, nil
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

// partialMatch: every key of ex has an equal value in c.
func partialMatch(c, ex map[string]any) bool {
	for k, v := range ex {
		cv, ok := c[k]
		if !ok || !deepEqual(cv, v) {
			return false
		}
	}
	return true
}

// conflicts: inc would change one of the combination's original values.
func conflicts(orig map[string]any, originalKeys []string, inc map[string]any) bool {
	for k, v := range inc {
		if slices.Contains(originalKeys, k) {
			if ov, ok := orig[k]; ok && !deepEqual(ov, v) {
				return true
			}
		}
	}
	return false
}

func deepEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			if !deepEqual(v, bm[k]) {
				return false
			}
		}
		return true
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !deepEqual(a[i], bs[i]) {
				return false
			}
		}
		return true
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	}
	return expr.ToJSON(a) == expr.ToJSON(b)
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
