package osv

import (
	"os"
	"path/filepath"
	"testing"
)

func seeds(f *testing.F, globs ...string) {
	for _, g := range globs {
		m, _ := filepath.Glob(g)
		for i, p := range m {
			if i > 40 {
				break
			}
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
}

func FuzzRecordJSON(f *testing.F) {
	seeds(f, "testdata/corpus/go/*.json", "testdata/corpus/hex/*.json", "testdata/corpus/npm/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseRecordJSON("r.json", data)
		if err != nil {
			return
		}
		db := New(r)
		for _, a := range r.Affected {
			for _, v := range append([]string{"0", "1.0.0", "0.0.0-20200101000000-abcdefabcdef"}, a.Versions...) {
				db.Match(a.Package.Ecosystem, a.Package.Name, v)
			}
		}
		for _, s := range r.Severity {
			_, _, _ = BaseScore(s.Score)
		}
	})
}

func FuzzYAMLAdvisory(f *testing.F) {
	seeds(f, "testdata/corpus/hex-mix_audit-yaml/*/*.yml", "testdata/corpus/pypi-pysec-yaml/*/*.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseYAML("a.yml", data)
		if err != nil || r == nil {
			return
		}
		db := New(r)
		for _, a := range r.Affected {
			db.Match(a.Package.Ecosystem, a.Package.Name, "1.2.3")
			for _, p := range a.Patched {
				db.Match(a.Package.Ecosystem, a.Package.Name, p)
			}
		}
	})
}

func FuzzHexRequirement(f *testing.F) {
	for _, s := range []string{">= 2.0.0, < 4.0.1", "~> 1.2", "<= 0.7.2", "== 1.0.0 or ~> 2.1.3", "> 1.0.0-rc.1"} {
		f.Add(s, "1.2.3")
	}
	f.Fuzz(func(t *testing.T, req, v string) {
		_, _ = HexRequirementMatch(req, v)
	})
}
