package analysis

import (
	"testing"
)

// The condition parser and the analysis file parser take user input: no
// panics, and a parsed condition evaluates without panicking.
func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"result < 0.05", "result[0] >= 0.95 && result[0] <= 1", "!(result == 0) || result > 1e9", "(", "result[", "1 < result"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCondition(s)
		if err != nil {
			return
		}
		_, _ = c.Eval([]float64{0.1, 2})
		_, _ = c.Eval(nil)
	})
}

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte("metrics:\n  - name: a\n    query: up\n    successCondition: result < 1\n"))
	f.Add([]byte("metrics:\n  - name: c\n    compare: {canary: x, baseline: y, window: 10s}\n"))
	f.Add([]byte("metrics: [{interval: nope}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse("f.yml", data)
	})
}
