package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetectTool(t *testing.T) {
	for argv, want := range map[string]Tool{
		"go test -json ./...":       ToolGo,
		"/usr/local/go/bin/go test": ToolGo,
		"go vet ./...":              ToolOther,
		"rebar3 eunit":              ToolRebar3EUnit,
		"rebar3 as test ct":         ToolRebar3CT,
		"pytest -q":                 ToolPytest,
		"python3 -m pytest tests":   ToolPytest,
		"make test":                 ToolOther,
	} {
		if got := DetectTool(strings.Fields(argv)); got != want {
			t.Errorf("%s: %q, want %q", argv, got, want)
		}
	}
}

// TestSelectArgs checks the command lines that re-run only failed tests.
func TestSelectArgs(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tests"), 0o755)
	os.WriteFile(filepath.Join(dir, "tests", "test_calc.py"), nil, 0o644)
	for _, c := range []struct {
		argv string
		only []Case
		want []string
	}{
		{"go test -json ./...", []Case{{Class: "m/p", Name: "TestA/sub_case"}, {Class: "m/p", Name: "TestB"}, {Class: "m/q", Name: PackageFailure}},
			[]string{"go test -json ./... -count=1 -run=^(TestA|TestB)$"}},
		{"rebar3 eunit --module=old", []Case{{Class: "calc_tests", Name: "add_test"}, {Class: "b_tests", Name: "x_test"}},
			[]string{"rebar3 eunit --module=b_tests,calc_tests"}},
		{"rebar3 ct --suite old_SUITE", []Case{{Suite: "b_SUITE", Name: "c2"}, {Suite: "a_SUITE", Name: "c1"}, {Suite: "b_SUITE", Name: "c1"}},
			[]string{"rebar3 ct --suite=a_SUITE --case=c1", "rebar3 ct --suite=b_SUITE --case=c1,c2"}},
		{"pytest -q", []Case{{Class: "tests.test_calc.TestAdd", Name: "test_one[2-3]"}, {Class: "tests.test_calc", Name: "test_two"}},
			[]string{"pytest -q tests/test_calc.py::TestAdd::test_one[2-3] tests/test_calc.py::test_two"}},
	} {
		r := NewCommandRunner(strings.Fields(c.argv), dir, "")
		var got []string
		for _, a := range r.selectArgs(c.only) {
			got = append(got, strings.Join(a, " "))
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", c.argv, got, c.want)
		}
	}
}
