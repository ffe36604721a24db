package coverage

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// Fuzz targets: every parser must return a profile or a *ParseError, never
// panic, and its totals must make sense.

func seed(f *testing.F, files ...string) {
	for _, n := range files {
		data, err := os.ReadFile(corpus + n)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 8*1024 { // large seeds make the fuzzer spend its time minimising
			data = data[:8*1024]
		}
		f.Add(data)
	}
}

func checkProfile(t *testing.T, p *Profile, err error) {
	t.Helper()
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error %T %v is not a *ParseError", err, err)
		}
		return
	}
	for _, u := range []Unit{Lines, Statements} {
		c := p.TotalIn(u)
		if c.Covered < 0 || c.Total < 0 || c.Covered > c.Total {
			t.Fatalf("%s total %+v", u, c)
		}
	}
	for _, m := range p.Modules() {
		if m.Pct < 0 || m.Pct > 100 {
			t.Fatalf("module %+v", m)
		}
	}
	Evaluate(p, Options{Min: 50, Stretch: 80, Modules: []ModuleMin{{Pattern: "x", Min: 10}}})
}

func FuzzParseGo(f *testing.F) {
	seed(f, "gocover-cobertura/testdata_set.txt", "gocover-cobertura/testdata_overlap.txt", "gcov2lcov/coverage.out")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseGo("fuzz", data)
		checkProfile(t, p, err)
	})
}

func FuzzParseLCOV(f *testing.F) {
	seed(f, "coveralls-coverage-reporter/lcov/test.lcov", "diff_cover/real_typescript_coverage.lcov")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseLCOV("fuzz", data)
		checkProfile(t, p, err)
	})
}

func FuzzParseCobertura(f *testing.F) {
	seed(f, "diff_cover/coverage.xml", "coveralls-coverage-reporter/cobertura/cobertura-conditions.xml", "erlang-cover/covertool/coverage.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseCobertura("fuzz", data)
		checkProfile(t, p, err)
	})
}

func FuzzParseJaCoCo(f *testing.F) {
	seed(f, "jacoco-report/multi_module/mathCoverage.xml", "coveralls-coverage-reporter/jacoco/jacoco-report.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseJaCoCo("fuzz", data)
		checkProfile(t, p, err)
	})
}

func FuzzParseErlang(f *testing.F) {
	seed(f, "erlang-cover/sonar-erlang/erlcount_lib.COVER.html", "erlang-cover/sonar-erlang/index.html")
	f.Add([]byte(`<tr class="hit"><td class="line" id="L5"><a href="#L5">5</a></td><td class="hits">1</td>` + "\n" + `<tr class="miss"><td class="line" id="L9"><a>9</a></td><td class="hits"><pre>:-(</pre></td>`))
	f.Add([]byte("  |  calc  |  71%  |\n  |  total  |  71%  |\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseErlangPage("fuzz.COVER.html", data)
		checkProfile(t, p, err)
		p, err = parseErlangIndex("index.html", data)
		checkProfile(t, p, err)
		p, err = parseRebar3("rebar3", data)
		checkProfile(t, p, err)
	})
}

// FuzzParse goes through detection, as the CLI does.
func FuzzParse(f *testing.F) {
	seed(f, "gcov2lcov/coverage.out", "gcov2lcov/coverage_expected.lcov", "diff_cover/coverage.xml", "jacoco-report/report.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz", data)
		checkProfile(t, p, err)
	})
}

func FuzzParseDiff(f *testing.F) {
	seed(f, "diff_cover/git_diff_add.txt", "diff_cover/git_diff_changed.txt", "diff_cover/git_diff_lua.txt", "diff_cover/git_diff_delete.txt")
	prof, err := ReadFiles(corpus + "diff_cover/coverage.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ch, err := ParseDiff(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, ls := range ch {
			for i, l := range ls {
				if i > 0 && ls[i-1] >= l {
					t.Fatalf("lines not sorted and unique: %v", ls)
				}
			}
		}
		p := PatchCoverage(prof, ch)
		if p.Missing > p.Measured || p.Percent() < 0 || p.Percent() > 100 {
			t.Fatalf("patch %+v", p)
		}
		var b bytes.Buffer
		WriteDiffCoverConsole(&b, p, "fuzz")
	})
}
