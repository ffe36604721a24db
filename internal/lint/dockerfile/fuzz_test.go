package dockerfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shipgate/shipgate/internal/diag"
)

// FuzzLint feeds arbitrary text to the dockerfile entry point: it must never
// panic, and every finding must carry the file name and a rule.
func FuzzLint(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/corpus/*/*/*/Dockerfile")
	for i, s := range seeds {
		if i > 40 {
			break
		}
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, d := range lintAll("F", src) {
			if d.Pos.File != "F" || d.Rule == "" {
				t.Fatalf("bad diagnostic %+v", d)
			}
		}
	})
}

func lintAll(file string, src []byte) []diag.Diagnostic { return Lint(file, src) }
