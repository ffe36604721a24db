package workflow

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any input gives a model or diagnostics, never a panic (Parse
// turns a panic into an "internal" diagnostic, which fails here).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/actionlint/ok/*.yaml")
	for _, p := range files[:min(len(files), 40)] {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("on: push\njobs:\n  a:\n    runs-on: x\n    strategy:\n      matrix: ${{ fromJSON('{}') }}\n    steps:\n      - run: true\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		wf, ds := Parse("fuzz.yml", src, Options{NoScriptCheck: true})
		for _, d := range ds {
			if d.Rule == "internal" {
				t.Fatalf("internal error: %s", d.Message)
			}
		}
		if wf != nil {
			for _, j := range wf.Jobs {
				if j.ID == "" {
					t.Fatal("job without ID")
				}
			}
		}
	})
}
