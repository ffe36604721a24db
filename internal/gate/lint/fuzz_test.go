package lint

import (
	"strings"
	"testing"
)

// FuzzParseConfig: any lint.yml text gives a config or an error, never a
// panic.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("rules:\n  DL3008: off\n  kube/limits: info\nignore: [\"testdata/**\"]\n"))
	f.Add([]byte("rules: {a: b}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := ParseConfig("lint.yml", src)
		if err == nil && c == nil {
			t.Fatal("nil config without an error")
		}
		if c != nil {
			c.ignored("a/b/c.yaml")
		}
	})
}

// FuzzSuppressions: any file text gives well-formed suppressions whose
// covered lines stay inside the file.
func FuzzSuppressions(f *testing.F) {
	f.Add("# shipgate:ignore DL3008 reason\nRUN a \\\n  b\n")
	f.Add("a: 1 # shipgate:ignore kube/x why\n  b: 2\n# shipgate:ignore-file all because\n")
	f.Fuzz(func(t *testing.T, src string) {
		n := strings.Count(src, "\n") + 1
		for _, s := range parseSuppressions("F", src) {
			if s.from < 0 || s.to > n || (s.from != 0 && s.from > s.to) {
				t.Fatalf("suppression covers lines %d..%d of %d", s.from, s.to, n)
			}
		}
	})
}
