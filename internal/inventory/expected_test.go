package inventory

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtureKinds maps each osv-scalibr fixture folder to the kind we read it as.
var fixtureKinds = map[string]Kind{
	"elixir/mixlock":             MixLock,
	"erlang/mixlock":             MixLock,
	"erlang/rebarconfig":         RebarConfig,
	"golang/gomod":               GoMod,
	"golang/vendormodules":       GoVendor,
	"java/gradlelockfile":        GradleLock,
	"dotnet/packageslockjson":    NugetLock,
	"dart/pubspec":               PubspecLock,
	"python/pipfilelock":         PipfileLock,
	"python/requirements":        Requirements,
	"python/pdmlock":             PdmLock,
	"python/poetrylock":          PoetryLock,
	"python/uvlock":              UvLock,
	"php/composerlock":           ComposerLock,
	"swift/packageresolved":      SwiftResolved,
	"rust/cargolock":             CargoLock,
	"ruby/gemfilelock":           GemfileLock,
	"javascript/packagelockjson": PackageLockJSON,
	"javascript/pnpmlock":        PnpmLock,
	"javascript/bunlock":         BunLock,
	"javascript/yarnlock":        YarnLock,
	"haskell/stacklock":          StackLock,
	"r/renvlock":                 RenvLock,
}

// corrections replaces EXPECTED.tsv rows that the corpus's heuristic
// parse of osv-scalibr's *_test.go got wrong. Each was checked against the
// extractor test in the module cache (osv-scalibr v0.5.3) and says why.
var corrections = map[string]struct {
	pkgs       []string
	notFixture bool
	reason     string
}{
	"golang/gomod/indirect-1.16.mod": {
		pkgs: []string{"github.com/davecgh/go-spew@1.1.1", "github.com/pmezard/go-difflib@1.0.0",
			"github.com/sirupsen/logrus@1.9.3", "github.com/stretchr/testify@1.7.0",
			"golang.org/x/sys@0.0.0-20220715151400-c0bba94af5f8",
			"gopkg.in/yaml.v3@3.0.0-20200313102051-9f266ea9e77c", "stdlib@1.16"},
		reason: "gomod_test.go expects 7 packages (go.sum adds the indirect ones for go <= 1.16); the TSV stopped at the first Location with a Related list",
	},
	"golang/gomod/indirect-1.16.sum": {
		notFixture: true,
		reason:     "a go.sum named as the Related location of a package in gomod_test.go, not a test input",
	},
	"golang/vendormodules/valid/vendor/modules.txt": {
		pkgs: []string{"example.com/afterheaderonly@0.3.0", "golang.org/x/crypto@0.31.0",
			"example.com/fork/net@1.4.5", "example.com/local@1.0.0", "example.com/transitive@0.2.0",
			"example.com/wildcard-fork@0.2.0", "github.com/example/incompatible@2.0.0+incompatible",
			"github.com/BurntSushi/toml@1.2.1"},
		reason: `vendormodules_test.go writes this name as "github.com/" + "BurntSushi/toml", which the TSV parse dropped`,
	},
	"python/requirements/other-requirements.txt": {
		notFixture: true,
		reason:     "the Related location of pandas (included with -r from example.txt), not a test input",
	},
	"python/requirements/per_req_options.txt": {
		pkgs: []string{"foo1@1.0", "foo2@1.0", "foo3@1.0", "foo4@1.0", "foo5@1.0", "foo6@1.0",
			"foo7@1.0 unexpected_text_before_options_stays_around", "foo8@1.0", "foo9@1.0",
			"foo11@1.0", "foo12@1.0", "foo13@1.0", "foo14@1.0", "foo16-Client@1.0",
			"foo17--hash@1.0", "foo18-Client@1.0"},
		reason: "requirements_test.go expects foo7's version to be \"1.0 unexpected_text_before_options_stays_around\"; the TSV split it at the space",
	},
	"python/uvlock/one-package.lock": {
		pkgs:   []string{"emoji@2.14.0"},
		reason: "uvlock_test.go builds packages with a pkg(t, name, version, ...) helper the TSV parse did not read",
	},
	"python/uvlock/two-packages.lock": {
		pkgs:   []string{"emoji@2.14.0", "protobuf@4.25.5"},
		reason: "pkg(t, ...) helper, as above",
	},
	"python/uvlock/grouped-packages.lock": {
		pkgs: []string{"emoji@2.14.0", "click@8.1.7", "colorama@0.4.6", "black@24.10.0", "flake8@7.1.1",
			"mccabe@0.7.0", "mypy-extensions@1.0.0", "packaging@24.2", "pathspec@0.12.1",
			"platformdirs@4.3.6", "pycodestyle@2.12.1", "pyflakes@3.2.0", "tomli@2.2.1",
			"typing-extensions@4.12.2"},
		reason: "pkg(t, ...) helper, as above; only the literal Package structs made it into the TSV",
	},
	"python/uvlock/names-outside-package-block.lock": {
		pkgs:   []string{"first-pkg@1.0.0", "second-pkg@2.0.0"},
		reason: "pkg(t, ...) helper, as above",
	},
}

type expectedRow struct {
	fixture   string
	wantErr   bool
	pkgs      []string
	line      int
	tsv, test string
}

func readExpected(t *testing.T, path string) []expectedRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []expectedRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if n == 1 {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 5 {
			t.Fatalf("%s:%d: %d columns", path, n, len(c))
		}
		r := expectedRow{fixture: c[0], test: c[1], wantErr: c[2] == "yes", line: n, tsv: path}
		if c[4] != "(none)" && c[4] != "(error expected)" {
			r.pkgs = strings.Fields(c[4])
		}
		rows = append(rows, r)
	}
	return rows
}

// TestExpectedPackageLists reads every osv-scalibr lockfile fixture and
// compares the package list (name@version, as a multiset) with
// EXPECTED.tsv, and error-expected rows with an error.
func TestExpectedPackageLists(t *testing.T) {
	root := filepath.Join("testdata", "osv-scalibr")
	tsvs, _ := filepath.Glob(filepath.Join(root, "*", "*", "EXPECTED.tsv"))
	if len(tsvs) != len(fixtureKinds) {
		t.Errorf("found %d EXPECTED.tsv, have kinds for %d", len(tsvs), len(fixtureKinds))
	}
	total, equal, corrected, rawEqual := 0, 0, 0, 0
	for _, tsv := range tsvs {
		dir := filepath.Dir(tsv)
		rel, _ := filepath.Rel(root, dir)
		kind, ok := fixtureKinds[filepath.ToSlash(rel)]
		if !ok {
			t.Errorf("%s: no kind for fixture folder", rel)
			continue
		}
		for _, row := range readExpected(t, tsv) {
			name := filepath.ToSlash(rel) + "/" + row.fixture
			want := row.pkgs
			c, isCorrected := corrections[name]
			if c.notFixture {
				corrected++
				continue
			}
			total++
			if isCorrected {
				want = c.pkgs
				corrected++
			}
			pkgs, err := ParseFile(kind, filepath.Join(dir, row.fixture))
			var got []string
			for _, p := range pkgs {
				got = append(got, p.Name+"@"+p.Version)
			}
			if row.wantErr != (err != nil) {
				t.Errorf("%s (%s): error = %v, EXPECTED.tsv says error=%v", name, row.test, err, row.wantErr)
				continue
			}
			if row.wantErr {
				equal++
				rawEqual++
				continue
			}
			a, b := slices.Clone(got), slices.Clone(want)
			slices.Sort(a)
			slices.Sort(b)
			raw := slices.Clone(row.pkgs)
			slices.Sort(raw)
			if slices.Equal(a, raw) {
				rawEqual++
			}
			if !slices.Equal(a, b) {
				t.Errorf("%s (%s):\n got  %v\n want %v", name, row.test, a, b)
				continue
			}
			equal++
		}
	}
	t.Logf("package lists equal to EXPECTED.tsv: %d/%d fixtures after %d documented corrections; %d/%d against the uncorrected rows",
		equal, total, corrected, rawEqual, total)
	if equal != total {
		t.Errorf("%d fixtures differ", total-equal)
	}
}
