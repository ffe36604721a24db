package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const junitData = "testdata/junit/"

var (
	pyLit    = `(?:None|(?:(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*)+)`
	putrCase = regexp.MustCompile(`(?s)UnitTestCase\(\s*result_file=.*?class_name=(` + pyLit + `),\s*test_name=(` + pyLit + `),\s*result='(\w+)'`)
	pyPart   = regexp.MustCompile(`'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"`)
)

// pyStr reads a Python repr literal, joining implicitly concatenated parts.
func pyStr(s string) string {
	if s == "None" {
		return ""
	}
	if parts := pyPart.FindAllString(s, -1); len(parts) > 1 {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(pyStr(p))
		}
		return b.String()
	}
	if strings.HasPrefix(s, "'") {
		s = `"` + strings.ReplaceAll(strings.ReplaceAll(s[1:len(s)-1], `"`, `\"`), `\'`, `'`) + `"`
	}
	u, err := strconv.Unquote(s)
	if err != nil {
		return s
	}
	return u
}

var xunitEmptyMethod = map[string]bool{junitData + "publish-unit-test-result/xunit/mstest/jenkinsci/testcase6": true}

// TestPublishUnitTestResultFixtures compares counts and per-case results with
// the expectations publish-unit-test-result stores beside each fixture
// (X.results.json: stats; X.results: every parsed case; X.exception: a parse
// error).
func TestPublishUnitTestResultFixtures(t *testing.T) {
	root := junitData + "publish-unit-test-result/"
	var checked, agree, casesChecked int
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || !strings.HasSuffix(p, ".results.json") {
			return nil
		}
		checked++
		base := strings.TrimSuffix(p, ".results.json")
		data, _ := os.ReadFile(p)
		var want struct {
			Stats struct {
				Files, Suites                                    int
				Tests, TestsSucc, TestsSkip, TestsFail, TestsErr int
				Errors                                           []any
			}
		}
		// Field names in the file use snake_case.
		data = []byte(strings.NewReplacer(`"tests_succ"`, `"TestsSucc"`, `"tests_skip"`, `"TestsSkip"`, `"tests_fail"`, `"TestsFail"`, `"tests_error"`, `"TestsErr"`).Replace(string(data)))
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		rep, err := ParseFile(base + ".xml")
		if len(want.Stats.Errors) > 0 {
			if err == nil {
				t.Errorf("%s: parsed, but publish-unit-test-result reports %v", base, want.Stats.Errors)
			} else {
				agree++
			}
			return nil
		}
		if err != nil {
			t.Errorf("%s: %v", base, err)
			return nil
		}
		tc := rep.TestCounts()
		got := [6]int{rep.Suites, tc.Total, tc.Passed, tc.Skipped, tc.Failed, tc.Errored}
		exp := [6]int{want.Stats.Suites, want.Stats.Tests, want.Stats.TestsSucc, want.Stats.TestsSkip, want.Stats.TestsFail, want.Stats.TestsErr}
		if got != exp {
			t.Errorf("%s: suites,tests,passed,skipped,failed,errors = %v, want %v", base, got, exp)
			return nil
		}
		// Per case.
		res, err := os.ReadFile(base + ".results")
		if err == nil {
			ms := putrCase.FindAllStringSubmatch(string(res), -1)
			if len(ms) == 0 && strings.Contains(string(res), "cases=[]") {
				// Nameless cases: publish-unit-test-result lists none
				// (its stats above still count them).
				agree++
				return nil
			}
			if len(ms) != len(rep.Cases) {
				t.Errorf("%s: %d cases, want %d", base, len(rep.Cases), len(ms))
				return nil
			}
			for i, m := range ms {
				wantRes := map[string]Result{"success": Passed, "failure": Failed, "error": Errored, "skipped": Skipped, "disabled": Skipped}[m[3]]
				c := rep.Cases[i]
				if explained := xunitEmptyMethod[base]; explained && c.Name != "" && pyStr(m[2]) == "" {
					// We fall back to the test's name attribute when its
					// method attribute is empty; publish-unit-test-result's
					// XSLT leaves the name empty.
					casesChecked++
					continue
				}
				if c.Class != pyStr(m[1]) || c.Name != pyStr(m[2]) || c.Result != wantRes {
					t.Errorf("%s case %d: %q %q %s, want %q %q %s", base, i, c.Class, c.Name, c.Result, pyStr(m[1]), pyStr(m[2]), wantRes)
					return nil
				}
				casesChecked++
			}
		}
		agree++
		return nil
	})
	// Inputs that must be refused with a position.
	for _, f := range []string{"junit-xml/pytest/corrupt-xml.xml", "xml/non-xml.xml", "xml/empty.xml", "junit-xml/non-junit.xml"} {
		checked++
		_, err := ParseFile(root + f)
		if _, ok := err.(*ParseError); !ok {
			t.Errorf("%s: err %v, want a ParseError", f, err)
			continue
		}
		agree++
	}
	if _, err := ParseFile(root + "junit-xml/pytest/corrupt-xml.xml"); err == nil || !strings.Contains(err.Error(), "corrupt-xml.xml:11:") {
		t.Errorf("corrupt-xml: %v, want line 11 (as lxml says)", err)
	}
	t.Logf("publish-unit-test-result fixtures: %d/%d agree, %d cases compared one by one", agree, checked, casesChecked)
	if checked < 39 {
		t.Errorf("only %d fixtures found", checked)
	}
}

// TestGoJUnitReportFixtures parses go-junit-report's expected reports: the
// suites' declared counts must equal the cases read. Where the input was a
// `go test -json` stream (*.gojson.txt), our own reading of the stream must
// give the same per-test results as go-junit-report's report.
func TestGoJUnitReportFixtures(t *testing.T) {
	reports, _ := filepath.Glob(junitData + "go-junit-report/*-report.xml")
	if len(reports) < 40 {
		t.Fatalf("found %d reports", len(reports))
	}
	streams := 0
	for _, f := range reports {
		rep, err := ParseFile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		checkDeclared(t, f)
		prefix := strings.TrimSuffix(f, "-report.xml")
		ins, _ := filepath.Glob(prefix + "-*.gojson.txt")
		if len(ins) != 1 {
			continue
		}
		streams++
		in, _ := os.Open(ins[0])
		gj, _, err := ParseGoTestJSON(ins[0], in)
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]Result{}
		for _, c := range rep.Cases {
			want[c.Class+" "+c.Name] = c.Result
		}
		got := map[string]Result{}
		for _, c := range gj.Cases {
			got[c.Class+" "+c.Name] = c.Result
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %s = %q, go-junit-report says %q", ins[0], k, got[k], w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d tests, go-junit-report has %d", ins[0], len(got), len(want))
		}
	}
	t.Logf("go-junit-report: %d reports, %d go test -json streams compared", len(reports), streams)
}

// checkDeclared asserts that every suite's tests/failures/errors/skipped
// attributes match the cases it lists.
func checkDeclared(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Sum the declared counts of leaf suites with a regexp pass, separately
	// from the parser.
	var decl Counts
	for _, m := range regexp.MustCompile(`<testsuite\s[^>]*>`).FindAllString(string(data), -1) {
		get := func(a string) int {
			mm := regexp.MustCompile(`\s` + a + `="(\d+)"`).FindStringSubmatch(m)
			if mm == nil {
				return 0
			}
			n, _ := strconv.Atoi(mm[1])
			return n
		}
		decl.Total += get("tests")
		decl.Failed += get("failures")
		decl.Errored += get("errors")
		decl.Skipped += get("skipped")
	}
	rep, err := ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Runs()
	got.Passed = 0
	if got != decl {
		t.Errorf("%s: cases %+v, suites declare %+v", file, got, decl)
	}
}

// TestGotestsumFixtures reads gotestsum's input stream and compares it with
// the JUnit that gotestsum wrote from it.
func TestGotestsumFixtures(t *testing.T) {
	in, err := os.Open(junitData + "gotestsum/testjson/testdata/input/go-test-json.out")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	gj, ok, err := ParseGoTestJSON("go-test-json.out", in)
	if err != nil || !ok {
		t.Fatalf("%v %v", ok, err)
	}
	golden, err := ParseFile(junitData + "gotestsum/internal/junitxml/testdata/junitxml-report.golden")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Result{}
	for _, c := range golden.Cases {
		want[c.Class+" "+c.Name] = c.Result
	}
	got := map[string]Result{}
	for _, c := range gj.Cases {
		if c.Name == PackageFailure {
			// gotestsum names a package that failed without a failing
			// test "TestMain" with an empty classname; we follow
			// go-junit-report ("Failure", classname = package).
			// gotestsum calls it a failure, go-junit-report an error.
			got[" TestMain"] = Failed
			continue
		}
		got[c.Class+" "+c.Name] = c.Result
	}
	diff := 0
	for k, w := range want {
		if got[k] != w {
			diff++
			t.Errorf("%s = %q, gotestsum says %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d tests, gotestsum has %d", len(got), len(want))
	}
	t.Logf("gotestsum: %d tests compared, %d differ", len(want), diff)
}

// TestDornyFixtures compares the counts with the reports dorny/test-reporter
// rendered from the same fixtures (__outputs__/*.md): passed, failed
// (failures and errors together) and skipped.
func TestDornyFixtures(t *testing.T) {
	mds, _ := filepath.Glob(junitData + "dorny-test-reporter/__outputs__/*.md")
	row := regexp.MustCompile(`(?m)^\|\[(fixtures/[^\]]+\.(?:xml|trx))\]\([^)]*\)\|(\d*)[^|]*\|(\d*)[^|]*\|(\d*)[^|]*\|`)
	seen := map[string]bool{}
	agree := 0
	for _, md := range mds {
		data, _ := os.ReadFile(md)
		for _, m := range row.FindAllStringSubmatch(string(data), -1) {
			if seen[m[1]] {
				continue
			}
			seen[m[1]] = true
			n := func(s string) int { v, _ := strconv.Atoi(s); return v }
			path := junitData + "dorny-test-reporter/" + m[1]
			if _, err := os.Stat(path); err != nil {
				t.Logf("%s: not in the corpus, skipped", m[1])
				delete(seen, m[1])
				continue
			}
			rep, err := ParseFile(path)
			if err != nil {
				t.Errorf("%s: %v", m[1], err)
				continue
			}
			r := rep.Runs()
			got := [3]int{r.Passed, r.Failed + r.Errored, r.Skipped}
			want := [3]int{n(m[2]), n(m[3]), n(m[4])}
			if got != want {
				t.Errorf("%s: passed/failed/skipped %v, dorny says %v", m[1], got, want)
				continue
			}
			agree++
		}
	}
	t.Logf("dorny-test-reporter: %d/%d XML and TRX fixtures agree", agree, len(seen))
	if len(seen) < 20 {
		t.Errorf("only %d fixtures", len(seen))
	}
}

// TestOtherFlavours parses every other report in the corpus, checks the
// suites' declared counts where the producer wrote them, and the named
// results of a few.
func TestOtherFlavours(t *testing.T) {
	var files []string
	for _, dir := range []string{"erlang-eunit", "action-junit-report", "go-junit", "dorny-test-reporter/fixtures"} {
		filepath.Walk(junitData+dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".xml") || strings.HasSuffix(p, ".trx")) {
				files = append(files, p)
			}
			return nil
		})
	}
	// Reports whose declared counts do not match their cases, and why.
	// Reports that are not well-formed XML and are refused with a position
	// (lxml, which publish-unit-test-result uses, refuses them too).
	mismatch := map[string]string{
		"action-junit-report/corrupt-junit/e2e-tests/corrupt/target/sf-reports/TEST-test.CorruptTest.xml": "truncated on purpose",
		"action-junit-report/junit-web-test/expected.xml":                                                 `a bare "<" in an attribute value (time="<<computed>>")`,
		"action-junit-report/junit-web-test/expectedRetries.xml":                                          `a bare "<" in an attribute value (time="<<computed>>")`,
	}
	parsed := 0
	for _, f := range files {
		rel := strings.TrimPrefix(f, junitData)
		rep, err := ParseFile(f)
		if why, ok := mismatch[rel]; ok {
			if _, isPE := err.(*ParseError); !isPE {
				t.Errorf("%s: err %v, want a positioned refusal (%s)", rel, err, why)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		parsed++
		_ = rep
		if strings.HasPrefix(rel, "erlang-eunit/") {
			checkDeclared(t, f)
		}
	}
	t.Logf("other flavours: %d of %d files parsed", parsed, len(files))
	// Named results.
	for _, c := range []struct {
		file string
		want Counts
	}{
		// EUnit's surefire output with a failing assertEqual.
		{"erlang-eunit/sonar-erlang/org/sonar/plugins/erlang/erlcount/.eunit/TEST-erlcount_eunit.xml", Counts{}},
		// Surefire flaky: passed on re-run.
		{"action-junit-report/maven_surefire_flaky/surefire-report.xml", Counts{Total: 1, Passed: 1}},
	} {
		rep, err := ParseFile(junitData + c.file)
		if err != nil {
			t.Fatal(err)
		}
		if c.want.Total == 0 {
			continue
		}
		if got := rep.Runs(); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.file, got, c.want)
		}
	}
	rep, _ := ParseFile(junitData + "action-junit-report/maven_surefire_flaky/surefire-report.xml")
	if !rep.Cases[0].Flaky {
		t.Error("surefire flakyFailure not marked flaky")
	}
}
