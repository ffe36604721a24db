// Package tests is shipgate's test-report and flaky-test gate.
//
// The flow: ParseFile streams a test report with encoding/xml's Decoder
// (never loading a huge report whole) into Cases: JUnit XML in the flavours
// tools write (Maven Surefire with its flaky/rerun elements, EUnit's
// surefire, Common Test's cth_surefire, gotestsum, go-junit-report, pytest,
// Jest, PHPUnit, nested suites, missing attributes), xUnit.net v2 XML,
// NUnit 3 XML and .NET TRX; ParseGoTestJSON reads `go test -json` streams.
// Report applies the quarantine (quarantine.yml: known-flaky tests with an
// owner, reason and expiry) and returns a gate.Report that fails when a test
// failed or errored outside quarantine, or a quarantine entry has expired.
// Flaky runs a test command N times (or re-runs only what failed), and
// Classify labels each test stable pass, stable fail, flaky or new, with
// flip rates from the store's history.
package tests

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Result is a test case's outcome.
type Result string

const (
	// Passed: ran and succeeded.
	Passed Result = "passed"
	// Failed: an assertion failed.
	Failed Result = "failure"
	// Errored: the test could not run to an assertion (exception, setup).
	Errored Result = "error"
	// Skipped: not run (skipped, disabled, ignored, xfail).
	Skipped Result = "skipped"
)

// Bad reports whether the result fails a run.
func (r Result) Bad() bool { return r == Failed || r == Errored }

// rank orders results for merging several outcomes of one case:
// error > failure > skipped > passed.
func (r Result) rank() int {
	switch r {
	case Errored:
		return 3
	case Failed:
		return 2
	case Skipped:
		return 1
	}
	return 0
}

// Case is one executed test case.
type Case struct {
	// File is the report the case was read from.
	File string `json:"file"`
	// Suite is the innermost enclosing suite's name.
	Suite string `json:"suite,omitempty"`
	// Class is the classname (or module, type) attribute.
	Class string `json:"class,omitempty"`
	// Name is the test's name.
	Name string `json:"name"`
	// Result is the outcome.
	Result Result `json:"result"`
	// Message is the failure, error or skip message (first line-ish).
	Message string `json:"message,omitempty"`
	// Seconds is the duration when the report gives one.
	Seconds float64 `json:"seconds,omitempty"`
	// SourceFile and Line locate the test in source when the report says.
	SourceFile string `json:"source_file,omitempty"`
	Line       int    `json:"line,omitempty"`
	// Flaky is set when the runner re-ran the test and it both failed and
	// passed (Surefire's flakyFailure/flakyError).
	Flaky bool `json:"flaky,omitempty"`
	// Reruns counts the runner's own re-runs that failed.
	Reruns int `json:"reruns,omitempty"`
}

// ID is the test's identity across runs: "class.name" or the name alone.
func (c Case) ID() string {
	if c.Class == "" {
		return c.Name
	}
	return c.Class + "::" + c.Name
}

// Report is what one or more report files hold.
type Report struct {
	// Files read.
	Files int `json:"files"`
	// Suites counts suites that directly hold test cases (or declare
	// counts without listing cases).
	Suites int `json:"suites"`
	// Cases in file order.
	Cases []Case `json:"cases"`
	// Declared holds counts that suites declared without listing cases
	// (a suite with tests="6" and no <testcase>): they count as tests with
	// unknown names.
	Declared DeclaredCounts `json:"declared,omitempty"`
}

// DeclaredCounts are a suite's own tests/failures/errors/skipped attributes.
type DeclaredCounts struct {
	Tests, Failures, Errors, Skipped int
}

// ParseError is a report that cannot be read, with its position.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Col == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// maxMessage bounds a kept failure message.
const maxMessage = 4096

// ParseFile reads one test report file.
func ParseFile(name string) (*Report, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(name, f)
}

// Parse reads one test report from r, detecting the flavour from the root
// element: <testsuites>/<testsuite> (JUnit), <assemblies>/<assembly>
// (xUnit.net v2), <test-run> (NUnit 3) or <TestRun> (TRX).
func Parse(name string, r io.Reader) (*Report, error) {
	cr := &countingReader{r: r}
	d := xml.NewDecoder(cr)
	// Not strict: reports in the wild carry HTML entities and a bare "<"
	// in attribute values, which JUnit consumers accept.
	d.Strict = false
	d.CharsetReader = charsetReader
	p := &parser{name: name, d: d, cr: cr, rep: &Report{Files: 1}}
	if err := p.run(); err != nil {
		return nil, err
	}
	return p.rep, nil
}

// countingReader remembers the bytes read so far, to turn the decoder's
// offset into a line and column.
type countingReader struct {
	r     io.Reader
	lines int   // newlines before base
	base  int64 // offset of buf[0]
	buf   []byte
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	// Keep only the last 64 KiB for column lookup; count lines as we go.
	c.buf = append(c.buf, p[:n]...)
	if len(c.buf) > 128*1024 {
		cut := len(c.buf) - 64*1024
		c.lines += bytes.Count(c.buf[:cut], []byte("\n"))
		c.base += int64(cut)
		c.buf = c.buf[cut:]
	}
	return n, err
}

func (c *countingReader) pos(off int64) (int, int) {
	rel := off - c.base
	if rel < 0 {
		return 0, 0
	}
	if rel > int64(len(c.buf)) {
		rel = int64(len(c.buf))
	}
	before := c.buf[:rel]
	line := c.lines + bytes.Count(before, []byte("\n")) + 1
	col := int(rel) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-8", "utf8", "us-ascii", "ascii", "":
		return in, nil
	case "iso-8859-1", "latin1", "latin-1", "windows-1252":
		return &latin1Reader{r: in}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}

type latin1Reader struct {
	r   io.Reader
	out []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		buf := make([]byte, len(p)/2+1)
		n, err := l.r.Read(buf)
		for _, b := range buf[:n] {
			if b < 0x80 {
				l.out = append(l.out, b)
			} else {
				l.out = append(l.out, 0xc0|b>>6, 0x80|b&0x3f)
			}
		}
		if n == 0 && err != nil {
			return 0, err
		}
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}

type suiteState struct {
	name     string
	cases    int
	children int
	declared DeclaredCounts
	hasDecl  bool
}

type parser struct {
	name   string
	d      *xml.Decoder
	cr     *countingReader
	rep    *Report
	suites []*suiteState
}

func (p *parser) errAt(msg string) error {
	l, c := p.cr.pos(p.d.InputOffset())
	return &ParseError{File: p.name, Line: l, Col: c, Msg: msg}
}

func (p *parser) xmlErr(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		l, c := p.cr.pos(p.d.InputOffset())
		if l == 0 {
			l = se.Line
		}
		return &ParseError{File: p.name, Line: l, Col: c, Msg: "invalid XML: " + se.Msg}
	}
	return p.errAt("invalid XML: " + err.Error())
}

// token reads the next token inside a document, where the end of the file
// is an error.
func (p *parser) token() (xml.Token, error) {
	tok, err := p.d.Token()
	if err == io.EOF {
		return nil, p.errAt("invalid XML: unexpected end of file")
	}
	if err != nil {
		return nil, p.xmlErr(err)
	}
	return tok, nil
}

func (p *parser) run() error {
	// Find the root element.
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			return &ParseError{File: p.name, Line: 1, Col: 1, Msg: "empty file: no test report"}
		}
		if err != nil {
			return p.xmlErr(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "testsuites", "testsuite":
			return p.junit(se)
		case "assemblies", "assembly":
			return p.xunit(se)
		case "test-run", "test-results":
			return p.nunit(se)
		case "TestRun":
			return p.trx(se)
		}
		return p.errAt(fmt.Sprintf("not a test report: root element <%s> (want <testsuites> or <testsuite>, xUnit <assemblies>, NUnit <test-run> or TRX <TestRun>)", se.Name.Local))
	}
}

func attr(se xml.StartElement, names ...string) string {
	for _, n := range names {
		for _, a := range se.Attr {
			if a.Name.Local == n {
				return a.Value
			}
		}
	}
	return ""
}

func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}

func seconds(s string) float64 {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v != v || v < 0 {
		return 0
	}
	return v
}

func (p *parser) openSuite(se xml.StartElement) {
	s := &suiteState{name: attr(se, "name")}
	t, ok1 := atoi(attr(se, "tests"))
	f, _ := atoi(attr(se, "failures"))
	e, _ := atoi(attr(se, "errors"))
	sk, ok4 := atoi(attr(se, "skipped"))
	if !ok4 {
		sk, _ = atoi(attr(se, "skip", "disabled"))
	}
	if ok1 {
		s.declared, s.hasDecl = DeclaredCounts{t, f, e, sk}, true
	}
	if len(p.suites) > 0 {
		p.suites[len(p.suites)-1].children++
	}
	p.suites = append(p.suites, s)
}

func (p *parser) closeSuite() {
	if len(p.suites) == 0 {
		return
	}
	s := p.suites[len(p.suites)-1]
	p.suites = p.suites[:len(p.suites)-1]
	switch {
	case s.cases > 0:
		p.rep.Suites++
	case s.children == 0 && s.hasDecl && s.declared.Tests > 0:
		// A suite that says it ran tests but lists none.
		p.rep.Suites++
		p.rep.Declared.Tests += s.declared.Tests
		p.rep.Declared.Failures += s.declared.Failures
		p.rep.Declared.Errors += s.declared.Errors
		p.rep.Declared.Skipped += s.declared.Skipped
	case s.children == 0:
		p.rep.Suites++
	}
}

func (p *parser) suiteName() string {
	if len(p.suites) == 0 {
		return ""
	}
	return p.suites[len(p.suites)-1].name
}

// junit reads <testsuites> / <testsuite> documents, nested to any depth.
func (p *parser) junit(root xml.StartElement) error {
	if root.Name.Local == "testsuite" {
		p.openSuite(root)
	}
	depth := 1
	for depth > 0 {
		tok, err := p.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "testsuite":
				p.openSuite(t)
				depth++
			case "testcase":
				if err := p.junitCase(t); err != nil {
					return err
				}
			default:
				if err := p.d.Skip(); err != nil {
					return p.xmlErr(err)
				}
			}
		case xml.EndElement:
			if t.Name.Local == "testsuite" {
				p.closeSuite()
			}
			depth--
		}
	}
	return nil
}

// junitCase reads one <testcase> and its children.
func (p *parser) junitCase(se xml.StartElement) error {
	c := Case{
		File:       p.name,
		Suite:      p.suiteName(),
		Class:      attr(se, "classname", "class"),
		Name:       attr(se, "name"),
		Result:     Passed,
		Seconds:    seconds(attr(se, "time")),
		SourceFile: attr(se, "file"),
	}
	if l, ok := atoi(attr(se, "line")); ok {
		c.Line = l
	}
	// Some writers (tst, Catch2) say it in a status attribute too.
	switch strings.ToLower(attr(se, "status")) {
	case "disabled", "skipped", "notrun", "not_run", "ignored":
		c.Result = Skipped
	}
	flaky := false
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			return p.errAt("invalid XML: unexpected end of file inside <testcase>")
		}
		if err != nil {
			return p.xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var r Result
			switch t.Name.Local {
			case "failure":
				r = Failed
			case "error":
				r = Errored
			case "skipped", "disabled", "ignored":
				r = Skipped
			case "flakyFailure", "flakyError":
				flaky = true
			case "rerunFailure", "rerunError":
				c.Reruns++
			}
			if r != "" {
				msg, err := p.message(t)
				if err != nil {
					return err
				}
				if r.rank() > c.Result.rank() {
					c.Result = r
					c.Message = msg
				}
				continue
			}
			if err := p.d.Skip(); err != nil {
				return p.xmlErr(err)
			}
		case xml.EndElement:
			c.Flaky = flaky && !c.Result.Bad()
			if len(p.suites) > 0 {
				p.suites[len(p.suites)-1].cases++
			}
			p.addCase(c)
			return nil
		}
	}
}

// message reads a failure/error/skipped element: its message attribute, or
// the start of its text.
func (p *parser) message(se xml.StartElement) (string, error) {
	msg := attr(se, "message")
	var text strings.Builder
	depth := 1
	for depth > 0 {
		tok, err := p.d.Token()
		if err == io.EOF {
			return "", p.errAt("invalid XML: unexpected end of file inside <" + se.Name.Local + ">")
		}
		if err != nil {
			return "", p.xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if text.Len() < maxMessage {
				text.Write(t)
			}
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(text.String())
	}
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	return msg, nil
}

// ctConfigFuncs are Common Test configuration functions that cth_surefire
// writes as test cases; when they pass they are not tests.
var ctConfigFuncs = map[string]bool{
	"init_per_suite": true, "end_per_suite": true,
	"init_per_group": true, "end_per_group": true,
	"init_per_testcase": true, "end_per_testcase": true,
}

// eunitName matches EUnit surefire names "module:line function" with an
// optional " (module 'm')" suffix that depends on how the run was started.
var eunitName = regexp.MustCompile(`^([a-z][A-Za-z0-9_@]*):\d+ (\S+)(?: \((?:module|file|application) '.*'\))?$`)

func (p *parser) addCase(c Case) {
	if c.Class == "" {
		if m := eunitName.FindStringSubmatch(c.Name); m != nil {
			c.Class, c.Name = m[1], m[2]
		}
	}
	if c.Class == "" && strings.HasSuffix(c.SourceFile, "_SUITE.erl") && c.Suite != "" {
		// cth_surefire writes no classname: the suite is the class.
		c.Class = c.Suite
	}
	if ctConfigFuncs[c.Name] && c.Result == Passed && strings.HasSuffix(c.SourceFile, "_SUITE.erl") {
		if len(p.suites) > 0 {
			p.suites[len(p.suites)-1].cases--
		}
		return
	}
	p.rep.Cases = append(p.rep.Cases, c)
}

// xunit reads xUnit.net v2 XML: <assemblies><assembly><collection><test>.
// A collection is a suite; a test's class is its type and its name its
// method, as the JUnit conversion of xUnit results does.
func (p *parser) xunit(root xml.StartElement) error {
	if root.Name.Local == "assembly" {
		p.openSuite(root)
	}
	depth := 1
	for depth > 0 {
		tok, err := p.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "assembly", "collection", "class":
				p.openSuite(t)
				depth++
			case "test":
				if err := p.xunitTest(t); err != nil {
					return err
				}
			default:
				if err := p.d.Skip(); err != nil {
					return p.xmlErr(err)
				}
			}
		case xml.EndElement:
			if n := t.Name.Local; n == "assembly" || n == "collection" || n == "class" {
				p.closeSuite()
			}
			depth--
		}
	}
	return nil
}

func (p *parser) xunitTest(se xml.StartElement) error {
	name := attr(se, "method")
	if name == "" {
		name = attr(se, "name")
	}
	c := Case{File: p.name, Suite: p.suiteName(), Class: attr(se, "type"), Name: name, Seconds: seconds(attr(se, "time"))}
	switch strings.ToLower(attr(se, "result")) {
	case "pass":
		c.Result = Passed
	case "fail":
		c.Result = Failed
	case "skip", "notrun":
		c.Result = Skipped
	default:
		c.Result = Errored
	}
	msg, err := p.message(se)
	if err != nil {
		return err
	}
	if c.Result != Passed {
		c.Message = firstLine(msg)
	}
	if len(p.suites) > 0 {
		p.suites[len(p.suites)-1].cases++
	}
	p.addCase(c)
	return nil
}

// nunit reads NUnit 3 XML: <test-run><test-suite>...<test-case>.
func (p *parser) nunit(root xml.StartElement) error {
	depth := 1
	for depth > 0 {
		tok, err := p.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "test-suite":
				s := &suiteState{name: attr(t, "fullname", "name")}
				if len(p.suites) > 0 {
					p.suites[len(p.suites)-1].children++
				}
				p.suites = append(p.suites, s)
				depth++
			case "test-case":
				class := attr(t, "classname")
				name := attr(t, "name")
				c := Case{File: p.name, Suite: p.suiteName(), Class: class, Name: name, Seconds: seconds(attr(t, "duration", "time"))}
				switch strings.ToLower(attr(t, "result")) {
				case "passed", "success":
					c.Result = Passed
				case "failed", "failure":
					c.Result = Failed
					if strings.EqualFold(attr(t, "label"), "Error") {
						c.Result = Errored
					}
				case "skipped", "ignored", "inconclusive", "notrunnable":
					c.Result = Skipped
				case "error":
					c.Result = Errored
				default:
					c.Result = Errored
				}
				msg, err := p.message(t)
				if err != nil {
					return err
				}
				if c.Result != Passed {
					c.Message = firstLine(msg)
				}
				if len(p.suites) > 0 {
					p.suites[len(p.suites)-1].cases++
				}
				p.addCase(c)
			default:
				depth++
			}
		case xml.EndElement:
			if t.Name.Local == "test-suite" && len(p.suites) > 0 {
				s := p.suites[len(p.suites)-1]
				p.suites = p.suites[:len(p.suites)-1]
				if s.cases > 0 {
					p.rep.Suites++
				}
			}
			depth--
		}
	}
	return nil
}

// trx reads Visual Studio TRX: <TestRun><Results><UnitTestResult>, with the
// class from <TestDefinitions><UnitTest><TestMethod className>.
func (p *parser) trx(root xml.StartElement) error {
	type res struct {
		id, name, outcome, msg string
		secs                   float64
	}
	var results []res
	classOf := map[string]string{}
	var curTest string
	depth := 1
	for depth > 0 {
		tok, err := p.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch t.Name.Local {
			case "UnitTestResult":
				r := res{id: attr(t, "testId"), name: attr(t, "testName"), outcome: attr(t, "outcome"), secs: trxDuration(attr(t, "duration"))}
				msg, err := p.message(t)
				if err != nil {
					return err
				}
				depth--
				r.msg = firstLine(msg)
				results = append(results, r)
			case "UnitTest":
				curTest = attr(t, "id")
			case "TestMethod":
				if curTest != "" {
					classOf[curTest] = attr(t, "className")
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if len(results) > 0 {
		p.rep.Suites++
	}
	for _, r := range results {
		c := Case{File: p.name, Class: classOf[r.id], Name: r.name, Seconds: r.secs}
		switch strings.ToLower(r.outcome) {
		case "passed":
			c.Result = Passed
		case "failed":
			c.Result = Failed
		case "notexecuted", "inconclusive", "pending", "disconnected", "warning":
			c.Result = Skipped
		case "":
			c.Result = Skipped
		default:
			c.Result = Errored
		}
		if c.Class != "" {
			if i := strings.LastIndex(c.Class, ","); i >= 0 {
				c.Class = strings.TrimSpace(c.Class[:i])
			}
			c.Name = strings.TrimPrefix(c.Name, c.Class+".")
		}
		if c.Result != Passed {
			c.Message = r.msg
		}
		p.addCase(c)
	}
	return nil
}

func trxDuration(s string) float64 {
	// hh:mm:ss.fffffff
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0
	}
	h, _ := strconv.Atoi(parts[0])
	m, _ := strconv.Atoi(parts[1])
	sec := seconds(parts[2])
	return float64(h*3600+m*60) + sec
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// ReadFiles reads and merges the named reports: JUnit-family XML, or a
// `go test -json` stream (detected by its first character).
func ReadFiles(names ...string) (*Report, error) {
	total := &Report{}
	for _, name := range names {
		rep, err := readOne(name)
		if err != nil {
			return nil, err
		}
		total.Merge(rep)
	}
	return total, nil
}

func readOne(name string) (*Report, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var head [512]byte
	n, _ := io.ReadFull(f, head[:])
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head[:n], []byte("\xef\xbb\xbf")), " \t\r\n")
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if len(trimmed) > 0 && trimmed[0] == '{' {
		rep, ok, err := ParseGoTestJSON(name, f)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &ParseError{File: name, Line: 1, Col: 1, Msg: "not a go test -json stream (no test events)"}
		}
		return rep, nil
	}
	return Parse(name, f)
}
