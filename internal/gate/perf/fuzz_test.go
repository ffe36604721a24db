package perf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addSeeds(f *testing.F, globs ...string) {
	for _, g := range globs {
		files, _ := filepath.Glob(g)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
}

// checkParse is what every fuzz target asserts: no panic, errors name the
// file, and a parsed set compares with itself without panicking.
func checkParse(t *testing.T, data []byte, format string) {
	set, err := Parse("fuzz.in", data, format)
	if err != nil {
		if !strings.HasPrefix(err.Error(), "fuzz.in") && !strings.Contains(err.Error(), "unknown format") {
			t.Fatalf("error does not name the file: %v", err)
		}
		return
	}
	if set.Len() == 0 {
		t.Fatal("Parse succeeded with no series")
	}
	c := Compare(set, set, DefaultOptions())
	r := c.Report()
	if r.Verdict == "fail" {
		t.Fatalf("a set compared with itself failed: %s", r.Reason)
	}
	var b strings.Builder
	_ = c.WriteTable(&b)
}

func FuzzParseGo(f *testing.F) {
	// Small seeds only: the fuzzer minimises every new input, which for the
	// 35 KB crc-*.txt files stalls a worker for up to -fuzzminimizetime.
	addSeeds(f, "testdata/benchstat/[^c]*.txt", "testdata/gab/go_single_package_output.txt", "testdata/gab/go_output.txt")
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "go") })
}

func FuzzParsePlain(f *testing.F) {
	f.Add([]byte("startup 12.5 ms\n# comment\nrss 1e6 bytes\n"))
	f.Add([]byte("a b c 1 x\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "plain") })
}

func FuzzParseJSON(f *testing.F) {
	addSeeds(f, "testdata/gab/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []string{"", "customSmallerIsBetter", "pytest", "googlecpp", "jmh", "julia", "benchmarkdotnet", "cargo-criterion"} {
			checkParse(t, data, format)
		}
	})
}

func FuzzParseToolText(f *testing.F) {
	addSeeds(f, "testdata/gab/*.txt", "testdata/gab-history/*.js")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []string{"", "cargo", "benchmarkjs", "benchmarkluau", "catch2", "gab-history"} {
			checkParse(t, data, format)
		}
	})
}
