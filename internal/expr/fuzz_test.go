package expr

import "testing"

// FuzzEval: parsing and evaluating any expression either succeeds or
// returns an *Error; it never panics.
func FuzzEval(f *testing.F) {
	for _, s := range []string{
		"github.event_name == 'push'", "join(fruits.*.name, ', ')", "format('{0}{{}}', 1)",
		"fromJSON('[1,{\"a\":2}]')[1].a", "contains(github.event.issue.labels.*.name, 'bug')",
		"!(1 < '2') || null && 0x1F", "toJSON(github)", "steps.x.outputs['y-z']", "1.5e3 >= -2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		v, err := Eval(src, testContext())
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%q: error of type %T: %v", src, err, err)
			}
			return
		}
		_ = ToString(v)
		_ = ToJSON(v)
		_, _ = Condition(src, testContext())
		_, _ = Interpolate("${{ "+src+" }}", testContext())
	})
}
