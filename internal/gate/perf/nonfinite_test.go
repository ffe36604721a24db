package perf

import (
	"fmt"
	"strings"
	"testing"
)

// TestNonFiniteValuesAreIgnored: a NaN made the U test loop forever (found
// by FuzzParseGo); such values are dropped with a positioned warning.
func TestNonFiniteValuesAreIgnored(t *testing.T) {
	for _, v := range []string{"NaN", "Inf", "-Inf"} {
		var b strings.Builder
		for i := range 10 {
			fmt.Fprintf(&b, "BenchmarkX 1 %s ns/op\nBenchmarkX 1 %d ns/op\nBenchmarkY 1 %s ns/op\n", v, i+1, v)
		}
		set, err := Parse("nan.txt", []byte(b.String()), "")
		if err != nil {
			t.Fatal(err)
		}
		if set.Len() != 1 || len(set.Series()[0].Values) != 10 || len(set.Warnings) != 20 || !strings.HasPrefix(set.Warnings[0].String(), "nan.txt:1:") {
			t.Fatalf("%s: %d series, warnings %v", v, set.Len(), set.Warnings[:1])
		}
		checkParse(t, []byte(b.String()), "go")
	}
}
