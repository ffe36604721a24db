package inventory

import (
	"os"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F, globs ...string) {
	for _, g := range globs {
		m, _ := filepath.Glob(g)
		for _, p := range m {
			if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
}

// checkPositions: every error is a *SyntaxError with a real position.
func checkErr(t *testing.T, err error) {
	if err == nil {
		return
	}
	if se, ok := err.(*SyntaxError); ok && (se.Pos.Line < 1 || se.Pos.Col < 1) {
		t.Fatalf("error without position: %v", err)
	}
}

func FuzzRebarLock(f *testing.F) {
	addSeeds(f, "testdata/real-world/erlang/*/rebar.lock", "testdata/real-world/erlang/*/*/*/rebar.lock")
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := ParseRebarLock("rebar.lock", data)
		checkErr(t, err)
		for _, p := range pkgs {
			if p.Line < 1 {
				t.Fatalf("package without line: %+v", p)
			}
		}
	})
}

func FuzzRebarConfig(f *testing.F) {
	addSeeds(f, "testdata/osv-scalibr/erlang/rebarconfig/*")
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ParseRebarConfigDeps("rebar.config", data)
		checkErr(t, err)
		_, _, _, err = ParseAppSrc("x.app.src", data)
		checkErr(t, err)
	})
}

func FuzzMixLock(f *testing.F) {
	addSeeds(f, "testdata/osv-scalibr/*/mixlock/*", "testdata/real-world/elixir/phoenix/*/mix.lock", "testdata/real-world/erlang/*/mix.lock")
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ParseMixLock("mix.lock", data)
		checkErr(t, err)
		_, _ = ParseMixExsDeps("mix.exs", data)
	})
}

func FuzzGoVendorModules(f *testing.F) {
	addSeeds(f, "testdata/osv-scalibr/golang/vendormodules/*/vendor/modules.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseGoVendorModules("modules.txt", data)
	})
}

func FuzzRequirements(f *testing.F) {
	addSeeds(f, "testdata/osv-scalibr/python/requirements/*.txt", "testdata/real-world/python/*/*.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		// Includes (-r) resolve against a folder that does not exist.
		_, _ = ParseRequirements(filepath.Join(t.TempDir(), "requirements.txt"), data)
	})
}

// FuzzGraphReaders covers our line readers of yarn.lock and Gemfile.lock
// edges (and pnpm/poetry decoding) on arbitrary input.
func FuzzGraphReaders(f *testing.F) {
	addSeeds(f, "testdata/osv-scalibr/javascript/yarnlock/*.lock", "testdata/osv-scalibr/ruby/gemfilelock/*.lock")
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "x.lock")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Skip()
		}
		pkgs := []Package{{Ecosystem: "npm", Name: "a", Version: "1.0.0"}, {Ecosystem: "npm", Name: "b", Version: "2.0.0"}}
		yarnRelations(p, pkgs)
		gemfileRelations(p, pkgs)
		pnpmRelations(p, pkgs)
		poetryRelations(p, pkgs)
	})
}
