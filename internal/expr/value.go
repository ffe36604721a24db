// Package expr evaluates GitHub Actions `${{ }}` expressions with GitHub's
// documented semantics. Expressions are parsed with actionlint's parser; this
// package walks that syntax tree over a set of contexts.
//
// Values are nil, bool, float64, string, []any and map[string]any. Object
// property lookups are case-insensitive, as GitHub's are. Comparison uses
// GitHub's loose rules: operands of different types are coerced to numbers
// (null is 0, booleans 0 or 1, strings parsed as JSON numbers with "" as 0,
// arrays and objects NaN); strings compare case-insensitively.
//
// See https://docs.github.com/en/actions/reference/evaluate-expressions-in-workflows-and-actions
package expr

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// filtered is the result of an object filter (`a.*`): a property access on it
// maps over its elements.
type filtered []any

// Truthy reports whether v counts as true: false, 0, -0, NaN, "" and null are
// false; everything else, arrays and objects included, is true.
func Truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case float64:
		return v != 0 && !math.IsNaN(v)
	case string:
		return v != ""
	}
	return true
}

// ToNumber coerces a value to a number as GitHub does.
func ToNumber(v any) float64 {
	switch v := v.(type) {
	case nil:
		return 0
	case bool:
		if v {
			return 1
		}
		return 0
	case float64:
		return v
	case string:
		return parseNumber(v)
	}
	return math.NaN()
}

func parseNumber(s string) float64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		if n, err := strconv.ParseInt(s[2:], 16, 64); err == nil {
			return float64(n)
		}
		return math.NaN()
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O') {
		if n, err := strconv.ParseInt(s[2:], 8, 64); err == nil {
			return float64(n)
		}
		return math.NaN()
	}
	// JSON number grammar plus a leading sign; reject Go extras (Inf, _ , hex floats).
	for _, r := range s {
		if !strings.ContainsRune("0123456789+-.eE", r) {
			return math.NaN()
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// ToString converts a value to the string that `${{ }}` interpolation writes.
func ToString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case bool:
		if v {
			return "true"
		}
		return "false"
	case float64:
		return FormatNumber(v)
	case string:
		return v
	case []any, filtered:
		return "Array"
	case map[string]any:
		return "Object"
	}
	return ""
}

// FormatNumber prints a number the way the runner does: integers without a
// fraction, others in the shortest form that round-trips.
func FormatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if math.Abs(f) >= 1e21 || math.Abs(f) < 1e-6 {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		return strings.Replace(s, "e+", "E+", 1)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// kind orders value types for equality.
type kind int

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

func kindOf(v any) kind {
	switch v.(type) {
	case nil:
		return kNull
	case bool:
		return kBool
	case float64:
		return kNumber
	case string:
		return kString
	case map[string]any:
		return kObject
	}
	return kArray
}

// LooseEqual is GitHub's `==`.
func LooseEqual(a, b any) bool {
	ka, kb := kindOf(a), kindOf(b)
	if ka != kb {
		if ka >= kArray || kb >= kArray {
			return false
		}
		return ToNumber(a) == ToNumber(b)
	}
	switch ka {
	case kNull:
		return true
	case kBool:
		return a.(bool) == b.(bool)
	case kNumber:
		return a.(float64) == b.(float64)
	case kString:
		return strings.EqualFold(a.(string), b.(string))
	case kObject:
		return sameMap(a.(map[string]any), b.(map[string]any))
	}
	return sameSlice(a, b)
}

func sameMap(a, b map[string]any) bool { return reflectPointer(a) == reflectPointer(b) }

func sameSlice(a, b any) bool {
	// Empty slices share Go's zero-size address, so they cannot be told apart:
	// treat them as different instances, as two fromJSON('[]') are.
	x, y := unfilter(a).([]any), unfilter(b).([]any)
	return len(x) > 0 && len(x) == len(y) && &x[0] == &y[0]
}

// compare returns -1, 0 or 1 for a < b, a == b, a > b, and ok=false when the
// two cannot be ordered (NaN involved).
func compare(a, b any) (int, bool) {
	ka, kb := kindOf(a), kindOf(b)
	if ka == kString && kb == kString {
		x, y := strings.ToUpper(a.(string)), strings.ToUpper(b.(string))
		return strings.Compare(x, y), true
	}
	x, y := ToNumber(a), ToNumber(b)
	if math.IsNaN(x) || math.IsNaN(y) {
		return 0, false
	}
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

// ToJSON renders a value as toJSON() does: indented with two spaces.
func ToJSON(v any) string {
	b, err := json.MarshalIndent(normalize(v), "", "  ")
	if err != nil {
		return "null"
	}
	return string(b)
}

func normalize(v any) any {
	switch v := v.(type) {
	case filtered:
		return []any(v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return json.Number(strconv.FormatInt(int64(v), 10))
		}
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

// FromGo converts decoded JSON or YAML (ints, nested maps) into expression
// values.
func FromGo(v any) any {
	switch v := v.(type) {
	case nil, bool, float64, string:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	case float32:
		return float64(v)
	case json.Number:
		f, _ := v.Float64()
		return f
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = FromGo(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = FromGo(e)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = e
		}
		return out
	case []string:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = e
		}
		return out
	}
	return nil
}
