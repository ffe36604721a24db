package tests

import (
	"bufio"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"
)

var (
	goBuildFailed = regexp.MustCompile(`^FAIL\s+(\S+) \[(build failed|setup failed)\]`)
	goFailPos     = regexp.MustCompile(`(?m)^\s*([\w./-]+_test\.go):(\d+):`)
	goBenchLine   = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+[\d.]+ ns/op`)
)

// goEvent is one line of `go test -json` (test2json) output.
type goEvent struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
	// ImportPath is set on go1.24+ build events (build-output, build-fail).
	ImportPath string
}

// PackageFailure is the name given to a package that failed without a
// failing test (build error, panic in init, TestMain exit, timeout), as
// go-junit-report names it.
const PackageFailure = "Failure"

// ParseGoTestJSON reads a `go test -json` stream. Lines that are not JSON
// (a build error printed before the stream, or a command's own output) are
// skipped. Each test's last pass/fail/skip decides its result; a test that
// started but never finished is failed when its package failed. A package
// that failed with no failed test becomes a case named PackageFailure.
func ParseGoTestJSON(name string, r io.Reader) (*Report, bool, error) {
	type key struct{ pkg, test string }
	rep := &Report{Files: 1}
	results := map[key]*Case{}
	var order []key
	pkgFailed := map[string]bool{}
	pkgOutput := map[string]*strings.Builder{}
	var pkgs []string
	seenPkg := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	events := 0
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			if m := goBuildFailed.FindSubmatch(line); m != nil {
				pkg := string(m[1])
				k := key{pkg, "[" + string(m[2]) + "]"}
				if _, ok := results[k]; !ok {
					results[k] = &Case{File: name, Suite: pkg, Class: pkg, Name: k.test, Result: Errored, Message: "build failed"}
					order = append(order, k)
					events++
				}
			}
			continue
		}
		var ev goEvent
		if err := json.Unmarshal(line, &ev); err != nil || ev.Action == "" {
			continue
		}
		events++
		if ev.Package != "" && !seenPkg[ev.Package] {
			seenPkg[ev.Package] = true
			pkgs = append(pkgs, ev.Package)
		}
		if ev.Action == "build-fail" && ev.ImportPath != "" {
			pkg := strings.TrimSpace(strings.Split(ev.ImportPath, " [")[0])
			k := key{pkg, "[build failed]"}
			if _, ok := results[k]; !ok {
				results[k] = &Case{File: name, Suite: pkg, Class: pkg, Name: k.test, Result: Errored, Message: "build failed"}
				order = append(order, k)
			}
			continue
		}
		if ev.Action == "output" {
			// Benchmark results are output lines, sometimes attributed
			// to the test that ran last.
			if m := goBenchLine.FindStringSubmatch(ev.Output); m != nil {
				k := key{ev.Package, m[1]}
				if _, ok := results[k]; !ok {
					results[k] = &Case{File: name, Suite: ev.Package, Class: ev.Package, Name: m[1], Result: Passed}
					order = append(order, k)
				}
			}
		}
		if ev.Test == "" {
			switch ev.Action {
			case "fail":
				pkgFailed[ev.Package] = true
			case "output":
				b := pkgOutput[ev.Package]
				if b == nil {
					b = &strings.Builder{}
					pkgOutput[ev.Package] = b
				}
				if b.Len() < maxMessage {
					b.WriteString(ev.Output)
				}
			}
			continue
		}
		k := key{ev.Package, ev.Test}
		c, ok := results[k]
		if !ok {
			c = &Case{File: name, Suite: ev.Package, Class: ev.Package, Name: ev.Test, Result: ""}
			results[k] = c
			order = append(order, k)
		}
		switch ev.Action {
		case "pass":
			c.Result, c.Seconds = Passed, ev.Elapsed
		case "fail":
			c.Result, c.Seconds = Failed, ev.Elapsed
		case "skip":
			c.Result, c.Seconds = Skipped, ev.Elapsed
		case "output":
			if len(c.Message) < maxMessage {
				out := strings.TrimSpace(ev.Output)
				if out != "" && !strings.HasPrefix(out, "=== ") && !strings.HasPrefix(out, "--- ") {
					if c.Message != "" {
						c.Message += "\n"
					}
					c.Message += out
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, false, &ParseError{File: name, Msg: err.Error()}
	}
	failedTests := map[string]bool{}
	for _, k := range order {
		c := results[k]
		if c.Result == "" {
			c.Result = Failed
			if !pkgFailed[k.pkg] {
				c.Result = Errored
			}
			c.Message = "test did not finish"
		}
		if c.Result != Failed && c.Result != Errored {
			c.Message = ""
		} else if m := goFailPos.FindStringSubmatch(c.Message); m != nil {
			// "demo_test.go:10: always fails" locates the failure.
			c.SourceFile = m[1]
			c.Line, _ = strconv.Atoi(m[2])
		}
		if c.Result.Bad() {
			failedTests[k.pkg] = true
		}
		rep.Cases = append(rep.Cases, *c)
	}
	for _, p := range pkgs {
		if pkgFailed[p] && !failedTests[p] {
			msg := ""
			if b := pkgOutput[p]; b != nil {
				msg = strings.TrimSpace(b.String())
			}
			rep.Cases = append(rep.Cases, Case{File: name, Suite: p, Class: p, Name: PackageFailure, Result: Errored, Message: msg})
		}
	}
	rep.Suites = len(pkgs)
	return rep, events > 0, nil
}
