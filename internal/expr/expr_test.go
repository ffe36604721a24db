package expr

import (
	"errors"
	"math"
	"testing"
)

type status struct{ ok, failed, cancelled bool }

func (s status) Succeeded() bool { return s.ok }
func (s status) Failed() bool    { return s.failed }
func (s status) Cancelled() bool { return s.cancelled }

func testContext() *Context {
	return &Context{Contexts: map[string]any{
		"github": map[string]any{
			"event_name": "push",
			"ref":        "refs/heads/main",
			"event": map[string]any{
				"issue": map[string]any{"labels": []any{
					map[string]any{"name": "bug"},
					map[string]any{"name": "triage"},
				}},
				"commits": []any{
					map[string]any{"message": "fix: a", "author": map[string]any{"name": "ann"}},
					map[string]any{"message": "feat: b", "author": map[string]any{"name": "bob"}},
				},
			},
		},
		"env":    map[string]any{"NAME": "world", "EMPTY": ""},
		"matrix": map[string]any{"os": "linux", "node": 16.0},
		"fruits": []any{
			map[string]any{"name": "apple", "quantity": 1.0},
			map[string]any{"name": "orange", "quantity": 2.0},
			map[string]any{"name": "pear", "quantity": 1.0},
		},
		"steps": map[string]any{"build": map[string]any{"outputs": map[string]any{"ver": "1.2"}}},
	}}
}

// Examples and the coercion table of GitHub's expressions documentation.
func TestEvalDocumentedSemantics(t *testing.T) {
	cases := []struct {
		expr string
		want any
	}{
		// Literals.
		{"null", nil},
		{"false", false},
		{"true", true},
		{"711", 711.0},
		{"-9.2", -9.2},
		{"0xff", 255.0},
		{"-2.99e-2", -0.0299},
		{"'Mona the Octocat'", "Mona the Octocat"},
		{"'It''s open source!'", "It's open source!"},
		// Loose equality and coercion (docs table: null->0, bool->0/1, string->number).
		{"null == 0", true},
		{"false == 0", true},
		{"true == 1", true},
		{"'' == 0", true},
		{"'1' == 1", true},
		{"' 1 ' == 1", true},
		{"'0x1F' == 31", true},
		{"'abc' == 0", false},
		{"'abc' == 'ABC'", true},
		{"'a' != 'A'", false},
		{"null == null", true},
		{"null == ''", true},
		{"true == 'true'", false}, // 'true' is NaN as a number
		{"1 < 2", true},
		{"'a' < 'B'", true},
		{"'10' > 9", true},
		{"'x' < 1", false}, // NaN compares false
		{"'x' >= 1", false},
		// NaN is not equal to itself.
		{"fromJSON('\"x\"') == fromJSON('\"x\"')", true},
		// && and || return operand values.
		{"'a' && 'b'", "b"},
		{"'' && 'b'", ""},
		{"'' || 'b'", "b"},
		{"0 || null", nil},
		{"!''", true},
		{"!'0'", false},
		// Dereference.
		{"github.event_name", "push"},
		{"github['event_name']", "push"},
		{"GITHUB.EVENT_NAME", "push"},
		{"github.nothing", nil},
		{"github.nothing.deeper", nil},
		{"steps.build.outputs.ver", "1.2"},
		{"matrix.node", 16.0},
		{"fruits[1].name", "orange"},
		{"fruits[5]", nil},
		// Object filters.
		{"join(fruits.*.name, ', ')", "apple, orange, pear"},
		{"join(github.event.issue.labels.*.name)", "bug,triage"},
		{"contains(github.event.issue.labels.*.name, 'bug')", true},
		{"contains(github.event.commits.*.author.name, 'bob')", true},
		{"contains(github.event.commits.*.author.name, 'eve')", false},
		// Functions (case-insensitive).
		{"contains('Hello world', 'llo')", true},
		{"contains('Hello world', 'LLO')", true},
		{"startsWith('Hello world', 'he')", true},
		{"endsWith('Hello world', 'ld')", true},
		{"format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')", "Hello Mona the Octocat"},
		{"format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')", "{Hello Mona the Octocat!}"},
		{"join(fromJSON('[1,2,3]'), '-')", "1-2-3"},
		{"join('abc')", "abc"},
		{"toJSON(matrix.node)", "16"},
		{"toJSON(fromJSON('{\"a\":[1,true,null]}'))", "{\n  \"a\": [\n    1,\n    true,\n    null\n  ]\n}"},
		{"fromJSON('3') == 3", true},
		{"fromJSON('true')", true},
		{"fromJSON('{\"include\":[{\"a\":1}]}').include[0].a", 1.0},
		// Status functions with a default (all succeeded) status.
		{"success()", true},
		{"always()", true},
		{"failure()", false},
		{"cancelled()", false},
	}
	for _, c := range cases {
		got, err := Eval(c.expr, testContext())
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		got = unfilter(got)
		if !sameValue(got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.expr, got, c.want)
		}
	}
}

func sameValue(a, b any) bool {
	if af, ok := a.(float64); ok {
		bf, ok := b.(float64)
		return ok && (af == bf || math.Abs(af-bf) < 1e-12)
	}
	return ToJSON(a) == ToJSON(b)
}

func TestEvalErrors(t *testing.T) {
	for _, src := range []string{
		"nosuch.context",
		"unknownFunc(1)",
		"contains('a')",
		"format('{1}', 'a')",
		"format('{0', 'a')",
		"fromJSON('{')",
		"hashFiles('*.go')",
		"1 +",
		"'unterminated",
		"github.event_name ==",
	} {
		_, err := Eval(src, testContext())
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: error = %v, want an *expr.Error", src, err)
		}
	}
}

func TestObjectsEqualOnlyToThemselves(t *testing.T) {
	c := testContext()
	for src, want := range map[string]bool{
		"github == github":                      true,
		"github.event == github":                false,
		"fromJSON('[]') == fromJSON('[]')":      false,
		"fruits == fruits":                      true,
		"github == 0":                           false,
		"fromJSON('{}') != fromJSON('{}')":      true,
		"github.event.issue.labels.*.name == 0": false,
	} {
		got, err := Eval(src, c)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", src, got, err, want)
		}
	}
}

func TestInterpolate(t *testing.T) {
	c := testContext()
	for in, want := range map[string]string{
		"hello ${{ env.NAME }}!":              "hello world!",
		"${{ matrix.node }}":                  "16",
		"a${{ 'b' }}c${{ 1.5 }}d":             "abc1.5d",
		"${{ github }}":                       "Object",
		"${{ fromJSON('[1]') }}":              "Array",
		"no expressions":                      "no expressions",
		"${{ '}}' }}":                         "}}",
		"${{ null }}x${{ true }}${{ 0.1e2 }}": "xtrue10",
	} {
		got, err := Interpolate(in, c)
		if err != nil || got != want {
			t.Errorf("Interpolate(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Interpolate("a ${{ env.NAME", c); err == nil {
		t.Error("unclosed ${{ must be an error")
	}
}

func TestValueKeepsType(t *testing.T) {
	v, err := Value("${{ fromJSON('[1, 2]') }}", testContext())
	if err != nil {
		t.Fatal(err)
	}
	if arr, ok := v.([]any); !ok || len(arr) != 2 {
		t.Fatalf("Value = %#v, want a 2-element array", v)
	}
}

func TestCondition(t *testing.T) {
	ok := &Context{Contexts: testContext().Contexts, Status: status{ok: true}}
	bad := &Context{Contexts: testContext().Contexts, Status: status{failed: true}}
	cancel := &Context{Contexts: testContext().Contexts, Status: status{cancelled: true}}
	cases := []struct {
		cond string
		c    *Context
		want bool
	}{
		{"", ok, true},
		{"", bad, false},
		{"github.event_name == 'push'", ok, true},
		{"github.event_name == 'push'", bad, false}, // implicit success()
		{"${{ github.event_name == 'push' }}", ok, true},
		{"always()", bad, true},
		{"failure()", bad, true},
		{"failure()", ok, false},
		{"${{ failure() && github.event_name == 'push' }}", bad, true},
		{"cancelled()", cancel, true},
		{"!cancelled()", cancel, false},
		{"'failure()' == 'x'", bad, false}, // a status name inside a string does not count
		{"env.EMPTY", ok, false},
		{"matrix.os == 'LINUX'", ok, true},
	}
	for _, c := range cases {
		got, err := Condition(c.cond, c.c)
		if err != nil || got != c.want {
			t.Errorf("Condition(%q) = %v, %v; want %v", c.cond, got, err, c.want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	for f, want := range map[float64]string{1: "1", 1.5: "1.5", -0.25: "-0.25", 1e21: "1E+21", 255: "255", 100000: "100000"} {
		if got := FormatNumber(f); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", f, got, want)
		}
	}
}
