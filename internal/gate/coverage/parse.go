package coverage

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// Format names, as Profile.Formats reports them.
const (
	FormatGo        = "go"
	FormatLCOV      = "lcov"
	FormatCobertura = "cobertura"
	FormatJaCoCo    = "jacoco"
	FormatErlHTML   = "erlang-cover-html"
	FormatErlIndex  = "erlang-cover-index"
	FormatRebar3    = "rebar3-cover"
)

// ParseError is an input that cannot be read as coverage, with the place
// where reading stopped when there is one.
type ParseError struct {
	File string
	Line int
	Col  int
	Msg  string
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

// ErrUnknownFormat is wrapped by errors for inputs that are no coverage
// format shipgate reads.
var ErrUnknownFormat = errors.New("not a coverage report (want a Go cover profile, LCOV, Cobertura, JaCoCo, Erlang cover HTML or rebar3 cover --verbose output)")

// ReadFiles reads and merges the named reports.
func ReadFiles(names ...string) (*Profile, error) {
	var total *Profile
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		p, err := Parse(name, data)
		if err != nil {
			return nil, err
		}
		if total == nil {
			total = p
		} else {
			total.Merge(p)
		}
	}
	if total == nil {
		return nil, errors.New("no coverage reports given")
	}
	return total, nil
}

// Detect names the format of data, or "" when it is none shipgate reads.
func Detect(data []byte) string {
	head := data
	if len(head) > 4096 {
		head = head[:4096]
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	switch {
	case bytes.HasPrefix(trimmed, []byte("mode:")):
		return FormatGo
	case isLCOV(trimmed):
		return FormatLCOV
	case bytes.HasPrefix(trimmed, []byte("<?xml")) || bytes.HasPrefix(trimmed, []byte("<coverage")) || bytes.HasPrefix(trimmed, []byte("<report")) || bytes.HasPrefix(trimmed, []byte("<!DOCTYPE report")) || bytes.HasPrefix(trimmed, []byte("<!DOCTYPE coverage")):
		switch xmlRoot(data) {
		case "coverage":
			return FormatCobertura
		case "report":
			return FormatJaCoCo
		}
		return ""
	}
	lower := bytes.ToLower(head)
	if bytes.Contains(lower, []byte("<html")) || bytes.Contains(lower, []byte("<!doctype html")) {
		switch {
		case bytes.Contains(head, []byte("by COVER")) || bytes.Contains(data, []byte(`<td class="hits">`)) || bytes.Contains(data, []byte("File generated from")):
			return FormatErlHTML
		case bytes.Contains(head, []byte("Coverage Summary")):
			return FormatErlIndex
		}
		return ""
	}
	if bytes.Contains(data, []byte("|                module  |")) || (bytes.Contains(data, []byte("|  coverage  |")) && bytes.Contains(data, []byte("total  |"))) {
		return FormatRebar3
	}
	return ""
}

func isLCOV(b []byte) bool {
	for _, p := range []string{"TN:", "SF:"} {
		if bytes.HasPrefix(b, []byte(p)) {
			return true
		}
	}
	return false
}

// xmlRoot returns the local name of the first element.
func xmlRoot(data []byte) string {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
}

// Parse reads one report, detecting its format from the content. name is
// used in messages and, for Erlang pages, to find the module name.
func Parse(name string, data []byte) (*Profile, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ParseError{File: name, Msg: "empty file: no coverage data"}
	}
	format := Detect(data)
	var (
		p   *Profile
		err error
	)
	switch format {
	case FormatGo:
		p, err = parseGo(name, data)
	case FormatLCOV:
		p, err = parseLCOV(name, data)
	case FormatCobertura:
		p, err = parseCobertura(name, data)
	case FormatJaCoCo:
		p, err = parseJaCoCo(name, data)
	case FormatErlHTML:
		p, err = parseErlangPage(name, data)
	case FormatErlIndex:
		p, err = parseErlangIndex(name, data)
	case FormatRebar3:
		p, err = parseRebar3(name, data)
	default:
		return nil, &ParseError{File: name, Msg: ErrUnknownFormat.Error()}
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// xmlError turns an encoding/xml error into a positioned ParseError.
func xmlError(name string, data []byte, d *xml.Decoder, err error) error {
	var se *xml.SyntaxError
	line := 0
	if errors.As(err, &se) {
		line = se.Line
		msg := se.Msg
		return &ParseError{File: name, Line: line, Col: colAt(data, d.InputOffset()), Msg: "invalid XML: " + msg}
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		l, c := lineCol(data, d.InputOffset())
		return &ParseError{File: name, Line: l, Col: c, Msg: "invalid XML: unexpected end of file"}
	}
	l, c := lineCol(data, d.InputOffset())
	return &ParseError{File: name, Line: l, Col: c, Msg: err.Error()}
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func colAt(data []byte, off int64) int {
	_, c := lineCol(data, off)
	return c
}

// dirOf is the package of a slash path: its directory, "." for none.
func dirOf(name string) string {
	d := path.Dir(strings.ReplaceAll(name, `\`, "/"))
	return d
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// clampHits turns a hit count read as a float into a non-negative int64,
// saturating huge values (LCOV writers have printed 2^64-1 for -1).
func clampHits(h float64) int64 {
	switch {
	case h != h || h < 0:
		return 0
	case h > 1<<53:
		return 1 << 53
	}
	return int64(h)
}

// satAdd adds hit counts without overflowing.
func satAdd(a, b int64) int64 {
	if b > 0 && a > (1<<62)-b {
		return 1 << 62
	}
	return a + b
}
