package tests

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
)

func seedFiles(f *testing.F, files ...string) {
	for _, n := range files {
		data, err := os.ReadFile(junitData + n)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 8*1024 { // large seeds make the fuzzer spend its time minimising
			data = data[:8*1024]
		}
		f.Add(data)
	}
}

// FuzzParseReport: any input gives a report or a *ParseError, never a panic,
// and the counts add up.
func FuzzParseReport(f *testing.F) {
	seedFiles(f,
		"publish-unit-test-result/junit-xml/junit.multiresult.xml",
		"publish-unit-test-result/junit-xml/testsuite-in-testsuite.xml",
		"publish-unit-test-result/xunit/mstest/fixie.xml",
		"dorny-test-reporter/fixtures/dotnet-nunit.xml",
		"dorny-test-reporter/fixtures/dotnet-trx.trx",
		"action-junit-report/maven_surefire_flaky/surefire-report.xml",
		"erlang-eunit/sonar-erlang/eunit/TEST-lager_crash_log.xml",
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse("fuzz.xml", bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		r := rep.Runs()
		if r.Passed+r.Failed+r.Errored+r.Skipped != r.Total && rep.Declared.Tests == 0 {
			t.Fatalf("runs %+v", r)
		}
		tc := rep.TestCounts()
		if tc.Total > r.Total {
			t.Fatalf("tests %+v > runs %+v", tc, r)
		}
		Evaluate(rep, nil, time.Now())
	})
}

func FuzzParseGoTestJSON(f *testing.F) {
	seedFiles(f, "gotestsum/testjson/testdata/input/go-test-json.out", "go-junit-report/105-panic.gojson.txt", "go-junit-report/102-broken.gojson.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, _, err := ParseGoTestJSON("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, c := range rep.Cases {
			switch c.Result {
			case Passed, Failed, Errored, Skipped:
			default:
				t.Fatalf("result %q for %s", c.Result, c.ID())
			}
		}
	})
}
