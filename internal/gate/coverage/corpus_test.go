package coverage

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const corpus = "testdata/corpus/"

func mustRead(t testing.TB, names ...string) *Profile {
	t.Helper()
	var full []string
	for _, n := range names {
		full = append(full, corpus+n)
	}
	p, err := ReadFiles(full...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return p
}

// TestGoProfilesMatchGocoverCobertura checks the line view of Go profiles
// against gocover-cobertura's golden Cobertura output for real projects, and
// against gcov2lcov's expected LCOV.
func TestGoProfilesMatchGocoverCobertura(t *testing.T) {
	for _, proj := range []string{"mux/v1.8.1", "cobra/v1.8.1", "go-approval-tests/v1.9.1"} {
		dir := "gocover-cobertura/regression/" + proj + "/"
		got := mustRead(t, dir+"coverage.txt")
		golden := mustRead(t, dir+"golden.xml")
		if golden.Declared == nil {
			t.Fatalf("%s: golden has no lines-covered/lines-valid", proj)
		}
		if lt := got.TotalIn(Lines); lt != *golden.Declared {
			t.Errorf("%s: lines %d/%d, gocover-cobertura says %d/%d", proj, lt.Covered, lt.Total, golden.Declared.Covered, golden.Declared.Total)
		}
		// Per file and line, not just the totals.
		for name, f := range got.Files {
			g := findFile(golden.Files, name)
			if g == nil {
				t.Errorf("%s: %s missing from golden", proj, name)
				continue
			}
			for l, h := range f.Lines {
				if gh, ok := g.Lines[l]; !ok || (gh > 0) != (h > 0) {
					t.Errorf("%s: %s:%d hits %d, golden %d (present %v)", proj, name, l, h, gh, ok)
				}
			}
		}
		if got.Unit() != Statements {
			t.Errorf("%s: unit %s, want statements", proj, got.Unit())
		}
	}
	got := mustRead(t, "gcov2lcov/coverage.out")
	want := mustRead(t, "gcov2lcov/coverage_expected.lcov")
	if got.TotalIn(Lines) != *want.Declared {
		t.Errorf("gcov2lcov: %v, want %v", got.TotalIn(Lines), *want.Declared)
	}
	for l, h := range want.Files["main.go"].Lines {
		if g := got.Files["github.com/jandelgado/gcov2lcov/main.go"].Lines[l]; (g > 0) != (h > 0) {
			t.Errorf("gcov2lcov line %d: %d, want %d", l, g, h)
		}
	}
}

// TestStatementTotals checks statement coverage against totals computed by
// hand from the profiles (what `go tool cover -func` prints as total).
func TestStatementTotals(t *testing.T) {
	for _, c := range []struct {
		file string
		want Counts
	}{
		// testdata_set.txt: 4 single-statement blocks, one with count 0.
		{"gocover-cobertura/testdata_set.txt", Counts{3, 4}},
		{"gocover-cobertura/regression/mux/v1.8.1/coverage.txt", Counts{515, 588}},
		{"gcov2lcov/coverage.out", Counts{5, 9}},
	} {
		if got := mustRead(t, c.file).Total(); got != c.want {
			t.Errorf("%s: %v, want %v", c.file, got, c.want)
		}
	}
	// Merging a profile with itself keeps every block once.
	p := mustRead(t, "gocover-cobertura/regression/mux/v1.8.1/coverage.txt", "gocover-cobertura/regression/mux/v1.8.1/coverage.txt")
	if got := p.Total(); got != (Counts{515, 588}) {
		t.Errorf("merged twice: %v", got)
	}
}

// TestDeclaredTotals compares the computed total with the figure the
// producing tool wrote into the report. Disagreements are listed with the
// reason and asserted too, so a change in either direction shows.
func TestDeclaredTotals(t *testing.T) {
	agree := []string{
		"coveralls-coverage-reporter/lcov/test.lcov",
		"coveralls-coverage-reporter/cobertura/cobertura-conditions.xml",
		"coveralls-coverage-reporter/cobertura/cobertura-zero-only.xml",
		"coveralls-coverage-reporter/cobertura/cobertura-empty-lines.xml",
		"coveralls-coverage-reporter/jacoco/jacoco-report.xml",
		"coveralls-coverage-reporter/jacoco/jacoco-oneline-report.xml",
		"gocover-cobertura/regression/mux/v1.8.1/golden.xml",
		"gocover-cobertura/regression/cobra/v1.8.1/golden.xml",
		"gocover-cobertura/regression/go-approval-tests/v1.9.1/golden.xml",
		"gcov2lcov/coverage_expected.lcov",
		"jacoco-report/report.xml",
		"jacoco-report/multi_module/appCoverage.xml",
		"jacoco-report/multi_module/mathCoverage.xml",
		"jacoco-report/multi_module/textCoverage.xml",
		"erlang-cover/covertool/coverage.xml",
		"diff_cover/real_cpp_coverage.lcov",
		"diff_cover/real_python_coverage.lcov",
		"diff_cover/real_typescript_coverage.lcov",
		"diff_cover/cpp_functions_coverage.lcov",
		"diff_cover/typescript_branches_coverage.lcov",
	}
	for _, f := range agree {
		p := mustRead(t, f)
		if p.Declared == nil {
			t.Errorf("%s: no declared total", f)
			continue
		}
		if got := p.Total(); got != *p.Declared {
			t.Errorf("%s: computed %d/%d, producer says %d/%d", f, got.Covered, got.Total, p.Declared.Covered, p.Declared.Total)
		}
	}
	explained := []struct {
		file     string
		computed Counts
		why      string
	}{
		{"coveralls-coverage-reporter/cobertura/cobertura.xml", Counts{77, 106}, "scoverage writes one <line> per statement (line numbers repeat): lines-valid=246 counts statements; distinct lines are 106"},
		{"coveralls-coverage-reporter/cobertura/cobertura-oneline.xml", Counts{77, 106}, "same report as cobertura.xml on one line"},
		{"coveralls-coverage-reporter/jacoco/jacoco-report-multiple-packages.xml", Counts{10, 12}, "hand-edited fixture: two packages of 5/6 each but the report counter says 5/6"},
		{"jacoco-report/aggregate-report.xml", Counts{10, 28}, "hand-trimmed fixture: the report counter (7593/9823) belongs to the untrimmed report"},
		{"jacoco-report/empty_multi_module/empty-appCoverage.xml", Counts{2, 19}, "hand-edited fixture: sourcefile lines (2/19) disagree with the class counters (2/21)"},
		{"diff_cover/lcov.info", Counts{5, 10}, "hand-written fixture: LF:6 LH:6 while its DA lines are 5 of 10 hit"},
	}
	for _, e := range explained {
		p := mustRead(t, e.file)
		if got := p.Total(); got != e.computed {
			t.Errorf("%s: computed %v, want %v (%s)", e.file, got, e.computed, e.why)
		}
		if p.Declared != nil && *p.Declared == e.computed {
			t.Errorf("%s: now agrees with the producer; move it to the agreeing list", e.file)
		}
	}
	t.Logf("declared totals: %d agree, %d explained disagreements", len(agree), len(explained))
}

// TestErlangCoverPages checks the per-module pages against the index page
// that cover wrote beside them: each module's percentage and the total
// (cover prints whole percents, truncated).
func TestErlangCoverPages(t *testing.T) {
	dir := corpus + "erlang-cover/sonar-erlang/"
	index, err := os.ReadFile(dir + "index.html")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := Parse("index.html", index)
	if err != nil {
		t.Fatal(err)
	}
	if idx.DeclaredPercent != 16 {
		t.Fatalf("index total %v, want 16", idx.DeclaredPercent)
	}
	// The index's "Source Summary" lists the source modules; the test
	// module erlcount_eunit is in its own "Test Summary" section.
	rows := regexp.MustCompile(`href='([a-z_0-9]+)\.COVER\.html'>[^<]+</a></td>\s*<td>(\d+)%`).FindAllStringSubmatch(string(index), -1)
	var pages []string
	for _, r := range rows {
		pages = append(pages, dir+r[1]+".COVER.html")
		p, err := ReadFiles(dir + r[1] + ".COVER.html")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := strconv.Atoi(r[2])
		if got := int(p.Total().Percent()); got != want {
			t.Errorf("%s: %d%%, index says %d%%", r[1], got, want)
		}
	}
	if len(pages) != 8 {
		t.Fatalf("found %d module rows, want 8", len(pages))
	}
	var src []string
	for _, p := range pages {
		if !strings.Contains(p, "erlcount_eunit") {
			src = append(src, p)
		}
	}
	all, err := ReadFiles(src...)
	if err != nil {
		t.Fatal(err)
	}
	if got := int(all.Total().Percent()); got != 16 {
		t.Errorf("source modules total %d%% (%v), index says 16%%", got, all.Total())
	}
	// Index and pages together: the pages' line counts win.
	both, err := ReadFiles(append([]string{dir + "index.html"}, src...)...)
	if err != nil {
		t.Fatal(err)
	}
	if both.PercentOnly || both.Total() != all.Total() {
		t.Errorf("index+pages: %v percentOnly=%v, want %v", both.Total(), both.PercentOnly, all.Total())
	}
	// The index alone gives the stated percentage.
	if got := idx.Total().Percent(); got != 16 {
		t.Errorf("index alone: %v%%", got)
	}
}

// TestDiffCoverFixtures runs patch coverage on diff_cover's fixtures and
// compares the console report byte for byte.
func TestDiffCoverFixtures(t *testing.T) {
	cases := []struct {
		report string
		diff   string
		cov    []string
	}{
		{"add_console_report.txt", "git_diff_add.txt", []string{"coverage.xml"}},
		{"changed_console_report.txt", "git_diff_changed.txt", []string{"coverage.xml"}},
		{"delete_console_report.txt", "git_diff_delete.txt", []string{"coverage.xml"}},
		{"moved_console_report.txt", "git_diff_moved.txt", []string{"moved_coverage.xml"}},
		{"mult_inputs_console_report.txt", "git_diff_add.txt", []string{"coverage1.xml", "coverage2.xml"}},
		{"subdir_coverage_console_report.txt", "git_diff_subdir.txt", []string{"coverage.xml"}},
		{"unicode_console_report.txt", "git_diff_unicode.txt", []string{"unicode_coverage.xml"}},
		{"lua_console_report.txt", "git_diff_lua.txt", []string{"luacoverage.xml"}},
		{"real_python_console_report.txt", "git_diff_python.txt", []string{"real_python_coverage.lcov"}},
		{"real_cpp_console_report.txt", "git_diff_cpp.txt", []string{"real_cpp_coverage.lcov"}},
		{"real_typescript_console_report.txt", "git_diff_typescript.txt", []string{"real_typescript_coverage.lcov"}},
		{"cpp_functions_console_report.txt", "git_diff_cpp_functions.txt", []string{"cpp_functions_coverage.lcov"}},
		{"typescript_branches_console_report.txt", "git_diff_typescript_branches.txt", []string{"typescript_branches_coverage.lcov"}},
	}
	agree := 0
	for _, c := range cases {
		var covs []string
		for _, f := range c.cov {
			covs = append(covs, "diff_cover/"+f)
		}
		p := mustRead(t, covs...)
		df, err := os.Open(corpus + "diff_cover/" + c.diff)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := ParseDiff(df)
		df.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.diff, err)
		}
		patch := PatchCoverage(p, ch)
		var got bytes.Buffer
		if err := WriteDiffCoverConsole(&got, patch, "origin/main...HEAD, staged and unstaged changes"); err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(corpus + "diff_cover/" + c.report)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(got.String()) != strings.TrimSpace(string(want)) {
			t.Errorf("%s:\n--- got\n%s\n--- want\n%s", c.report, got.String(), want)
			continue
		}
		agree++
	}
	t.Logf("diff_cover console reports: %d/%d identical", agree, len(cases))
}

func TestDetectByContent(t *testing.T) {
	for file, want := range map[string]string{
		"gcov2lcov/coverage.out":                              FormatGo,
		"gcov2lcov/coverage_expected.lcov":                    FormatLCOV,
		"diff_cover/coverage.xml":                             FormatCobertura,
		"jacoco-report/report.xml":                            FormatJaCoCo,
		"erlang-cover/sonar-erlang/index.html":                FormatErlIndex,
		"erlang-cover/sonar-erlang/erlcount_lib.COVER.html":   FormatErlHTML,
		"coveralls-coverage-reporter/cobertura/cobertura.xml": FormatCobertura,
	} {
		data, err := os.ReadFile(filepath.Join(corpus, file))
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(data); got != want {
			t.Errorf("%s: detected %q, want %q", file, got, want)
		}
	}
}

func TestBadInput(t *testing.T) {
	for name, c := range map[string]struct {
		data string
		want string
	}{
		"empty":             {"", "empty file"},
		"not coverage":      {"hello world\n", "not a coverage report"},
		"go bad line":       {"mode: set\na.go:1.1,2.2 1 1\na.go:x 1 1\n", "in.txt:3:"},
		"go bad mode":       {"mode: fast\n", "in.txt:1:7: unknown cover mode"},
		"lcov DA before SF": {"TN:\nDA:1,1\n", "in.txt:2:1: DA: outside a record"},
		"lcov bad hits":     {"SF:a.c\nDA:1,x\nend_of_record\n", "in.txt:2:"},
		"truncated xml":     {"<?xml version=\"1.0\"?>\n<coverage lines-valid=\"1\">\n<packages><package name=\"p\"><classes><class filename=\"a\"><lines><line number=\"1\" hits=\"1\"/>", "in.txt:3:"},
		"xml syntax":        {"<?xml version=\"1.0\"?>\n<coverage>\n  <packages <<\n</coverage>", "in.txt:3:"},
		"rebar3 bad pct":    {"  |  module  |  coverage  |\n  |  m  |  900%  |\n  |  total  |  9%  |\n", "in.txt:2:"},
	} {
		_, err := Parse("in.txt", []byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", name, err, c.want)
		}
	}
}
