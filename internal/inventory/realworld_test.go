package inventory

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func parseOrFatal(t *testing.T, k Kind, path string) []Package {
	t.Helper()
	pkgs, err := ParseFile(k, path)
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// Every rebar.lock format: legacy list (2015), "1.1.0" and "1.2.0".
func TestRebarLockFormats(t *testing.T) {
	hex40 := regexp.MustCompile(`^[0-9a-f]{40}$`)
	legacy := parseOrFatal(t, RebarLock, "testdata/real-world/erlang/vernemq-2015-legacy-format/rebar.lock")
	if len(legacy) != 36 {
		t.Errorf("legacy vernemq: %d packages, want 36", len(legacy))
	}
	for _, p := range legacy {
		if p.Source != "git" || !hex40.MatchString(p.Ref) || p.Repo == "" {
			t.Errorf("legacy %s: source %q ref %q repo %q", p.Name, p.Source, p.Ref, p.Repo)
		}
	}
	if legacy[0].Name != "bear" || legacy[0].Relation != Transitive || legacy[0].Line != 1 {
		t.Errorf("first legacy entry = %+v", legacy[0])
	}
	v110 := parseOrFatal(t, RebarLock, "testdata/real-world/erlang/rebar3-testdata/rebar_unlock_SUITE_data/pkg.rebar.lock")
	v120 := parseOrFatal(t, RebarLock, "testdata/real-world/erlang/rebar3-2022/rebar.lock")
	for _, set := range [][]Package{v110, v120} {
		if len(set) != 10 {
			t.Errorf("%s: %d packages, want 10", set[0].File, len(set))
		}
		for _, p := range set {
			if p.Relation != Direct || p.Source != "registry" || p.PURL != "pkg:hex/"+p.Name+"@"+p.Version {
				t.Errorf("%s: %+v", p.File, p)
			}
		}
	}
	if v120[1].Name != "certifi" || v120[1].Version != "2.9.0" ||
		len(v120[1].Hashes) != 1 || v120[1].Hashes[0].Value != strings.ToLower("6F2A475689DD47F19FB74334859D460A2DC4E3252A3324BD2111B8F0429E7E21") {
		t.Errorf("certifi = %+v", v120[1])
	}
	mixed := parseOrFatal(t, RebarLock, "testdata/real-world/erlang/vernemq-head/rebar.lock")
	git, pkg := 0, 0
	for _, p := range mixed {
		switch p.Source {
		case "git":
			git++
		case "registry":
			pkg++
		}
	}
	if git != 20 || pkg != 24 {
		t.Errorf("vernemq head: %d git, %d pkg; want 20, 24", git, pkg)
	}
}

// ejabberd ships a rebar.lock and a mix.lock for the same release: every
// Hex package of the rebar.lock is in the mix.lock at the same version.
func TestEjabberdRebarAndMixAgree(t *testing.T) {
	rebar := parseOrFatal(t, RebarLock, "testdata/real-world/erlang/processone-ejabberd/rebar.lock")
	mix := parseOrFatal(t, MixLock, "testdata/real-world/erlang/processone-ejabberd/mix.lock")
	inMix := map[string]string{}
	for _, p := range mix {
		inMix[p.Name] = p.Version
	}
	for _, p := range rebar {
		if v, ok := inMix[p.Name]; !ok || v != p.Version {
			t.Errorf("%s@%s: mix.lock has %q", p.Name, p.Version, v)
		}
	}
}

func TestMixLockEdges(t *testing.T) {
	pkgs := parseOrFatal(t, MixLock, "testdata/osv-scalibr/erlang/mixlock/two-packages.lock")
	if len(pkgs) != 2 || pkgs[0].Name != "plug" || len(pkgs[0].Deps) != 1 || pkgs[0].Deps[0] != "Hex/plug_crypto@1.2.2" {
		t.Fatalf("plug = %+v", pkgs[0])
	}
	if pkgs[0].Relation != Direct || pkgs[1].Relation != Transitive {
		t.Errorf("relations %q %q", pkgs[0].Relation, pkgs[1].Relation)
	}
	if pkgs[1].Hashes[0].Value != "87631c7ad914a5a445f0a3809f99b079113ae4ed4b867348dd9eec288cecb6db" {
		t.Errorf("outer hash %+v", pkgs[1].Hashes)
	}
}

func TestSyntaxErrorsHavePositions(t *testing.T) {
	cases := map[string]struct {
		k    Kind
		src  string
		want string
	}{
		"unterminated binary": {RebarLock, "{\"1.2.0\",\n[{<<\"a\">>,{pkg,<<\"a\">>,<<\"1.0\n", "x:2:"},
		"missing dot":         {RebarLock, "[]\n[]", "x:2:1: expected '.'"},
		"bad mix":             {MixLock, "%{\n  \"a\": {:hex, :a, \"1\" \"2\"},\n}", "x:2:"},
	}
	for name, c := range cases {
		var err error
		if c.k == RebarLock {
			_, err = ParseRebarLock("x", []byte(c.src))
		} else {
			_, err = ParseMixLock("x", []byte(c.src))
		}
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %v, want prefix %q", name, err, c.want)
		}
	}
}

func TestScanRealWorld(t *testing.T) {
	inv, err := Scan("testdata/real-world")
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Lockfiles) != 22 {
		t.Errorf("%d lockfiles, want 22", len(inv.Lockfiles))
	}
	for _, lf := range inv.Lockfiles {
		if len(lf.Packages) == 0 {
			t.Errorf("%s: no packages", lf.Path)
		}
	}
}

func TestPnpmAndPoetryGraphs(t *testing.T) {
	find := func(pkgs []Package, name string) Package {
		for _, p := range pkgs {
			if p.Name == name {
				return p
			}
		}
		t.Fatalf("%s not found", name)
		return Package{}
	}
	pn := parseOrFatal(t, PnpmLock, "testdata/real-world/pnpm/kube-score/pnpm-lock.yaml")
	rd := find(pn, "react-dom")
	if rd.Relation != Direct || !slices.Contains(rd.Deps, "npm/scheduler@"+find(pn, "scheduler").Version) || len(rd.Hashes) != 1 {
		t.Errorf("react-dom = %+v", rd)
	}
	if s := find(pn, "scheduler"); s.Relation != Transitive {
		t.Errorf("scheduler = %+v", s)
	}
	po := parseOrFatal(t, PoetryLock, "testdata/real-world/python/diff_cover/poetry.lock")
	if p := find(po, "pygments"); p.Relation != Direct {
		t.Errorf("pygments = %+v", p)
	}
	if p := find(po, "astroid"); p.Relation != Transitive || !slices.Contains(find(po, "pylint").Deps, "PyPI/astroid@"+p.Version) {
		t.Errorf("astroid = %+v, pylint deps %v", p, find(po, "pylint").Deps)
	}
}

func TestYarnAndGemfileGraphs(t *testing.T) {
	d := t.TempDir()
	v1 := `# yarn lockfile v1

"a@^1.0.0", a@^1.1.0:
  version "1.2.0"
  integrity sha1-2Klr13/Wjfd5OnMDajug1UBdR3s=
  dependencies:
    b "^2.0.0"

b@^2.0.0:
  version "2.1.0"
`
	berry := `__metadata:
  version: 5

"a@npm:^1.0.0":
  version: 1.2.0
  resolution: "a@npm:1.2.0"
  dependencies:
    b: ^2.0.0

"b@npm:^2.0.0":
  version: 2.1.0
  resolution: "b@npm:2.1.0"
`
	for name, src := range map[string]string{"v1": v1, "berry": berry} {
		dir := filepath.Join(d, name)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "yarn.lock"), []byte(src), 0o644)
		os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"dependencies":{"a":"^1.0.0"}}`), 0o644)
		pkgs := parseOrFatal(t, YarnLock, filepath.Join(dir, "yarn.lock"))
		if len(pkgs) != 2 || pkgs[0].Name != "a" || !slices.Equal(pkgs[0].Deps, []string{"npm/b@2.1.0"}) ||
			pkgs[0].Relation != Direct || pkgs[1].Relation != Transitive {
			t.Errorf("%s: %+v", name, pkgs)
		}
	}
	gems := parseOrFatal(t, GemfileLock, "testdata/osv-scalibr/ruby/gemfilelock/rails.lock")
	for _, p := range gems {
		if p.Name == "rails" && (p.Relation != Direct || len(p.Deps) != 12) {
			t.Errorf("rails: %+v", p)
		}
		if p.Name == "nio4r" && p.Relation != Transitive {
			t.Errorf("nio4r: %+v", p)
		}
	}
}

func TestScanReportsEveryBadLockfile(t *testing.T) {
	d := t.TempDir()
	for _, sub := range []string{"a", "b", "c"} {
		os.MkdirAll(filepath.Join(d, sub), 0o755)
	}
	os.WriteFile(filepath.Join(d, "a", "rebar.lock"), []byte("{\"1.2.0\",\n[{<<\"x\">>,{pkg,<<\"x\">>,<<\"1.0.0\">>},0}]}.\n"), 0o644)
	os.WriteFile(filepath.Join(d, "b", "rebar.lock"), []byte("[{<<\"x\">>,\n"), 0o644)
	os.WriteFile(filepath.Join(d, "c", "mix.lock"), []byte("%{\n  \"y\": {:hex, :y, \"1.0.0\" \"h\"}\n}\n"), 0o644)
	inv, err := Scan(d)
	if err == nil || !strings.Contains(err.Error(), "b/rebar.lock:2:") || !strings.Contains(err.Error(), "c/mix.lock:2:") {
		t.Errorf("error %v", err)
	}
	if inv == nil || len(inv.Lockfiles) != 1 || inv.Lockfiles[0].Packages[0].Name != "x" {
		t.Errorf("inventory of the good lockfile lost: %+v", inv)
	}
}
