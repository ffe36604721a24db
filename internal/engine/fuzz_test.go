package engine

import "testing"

// FuzzParseDotenv: any --secret-file content parses or errors, never panics.
func FuzzParseDotenv(f *testing.F) {
	for _, s := range []string{"A=1\n", "export B = x # c\n", "C=\"a\\nb\"\n", "D='x'\n", "E=\"open\n", "=x\n", "F=\"a\\\"\n\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseDotenv(s)
		if err == nil {
			for k := range m {
				if k == "" {
					t.Fatalf("empty key from %q", s)
				}
			}
		}
	})
}
