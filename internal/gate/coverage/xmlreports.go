package coverage

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
)

// parseCobertura streams a Cobertura XML report (coverage.py, gocover-cobertura,
// covertool, Istanbul, .NET coverlet...). Line hits come from each class's
// <lines>; the <methods> lines repeat them and are skipped. Several classes
// naming the same file add up.
func parseCobertura(name string, data []byte) (*Profile, error) {
	p := NewProfile(FormatCobertura)
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	var (
		stack    []string
		pkg      string
		cur      *File
		inMethod int
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlError(name, data, d, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			switch t.Name.Local {
			case "coverage":
				if len(stack) == 1 {
					lc, e1 := strconv.ParseInt(attr(t, "lines-covered"), 10, 64)
					lv, e2 := strconv.ParseInt(attr(t, "lines-valid"), 10, 64)
					if e1 == nil && e2 == nil {
						p.Declared = &Counts{Covered: lc, Total: lv}
					} else if r, err := strconv.ParseFloat(attr(t, "line-rate"), 64); err == nil {
						p.DeclaredPercent = r * 100
					}
				}
			case "package":
				pkg = attr(t, "name")
			case "class":
				fn := strings.ReplaceAll(attr(t, "filename"), `\`, "/")
				if fn == "" {
					fn = attr(t, "name")
				}
				pk := pkg
				if pk == "" {
					pk = dirOf(fn)
				}
				cur = p.File(fn, pk)
			case "method":
				inMethod++
			case "line":
				if cur == nil || inMethod > 0 {
					continue
				}
				ln, err := strconv.Atoi(attr(t, "number"))
				if err != nil {
					l, c := lineCol(data, d.InputOffset())
					return nil, &ParseError{File: name, Line: l, Col: c, Msg: "<line> without a valid number attribute"}
				}
				hits, err := strconv.ParseFloat(attr(t, "hits"), 64)
				if err != nil || math.IsNaN(hits) {
					l, c := lineCol(data, d.InputOffset())
					return nil, &ParseError{File: name, Line: l, Col: c, Msg: "<line> without a valid hits attribute"}
				}
				if ln <= 0 {
					continue // coverage.py writes line 0 for empty modules
				}
				cur.Lines[ln] = satAdd(cur.Lines[ln], clampHits(hits))
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			// RawToken does not pair end tags with start tags: a stray
			// end tag (seen in hand-edited reports) is forgiven, as
			// lenient XML readers do.
			switch t.Name.Local {
			case "class":
				cur = nil
			case "method":
				inMethod--
			}
		}
	}
	if len(stack) != 0 {
		l, c := lineCol(data, int64(len(data)))
		return nil, &ParseError{File: name, Line: l, Col: c, Msg: "invalid XML: unexpected end of file inside <" + stack[len(stack)-1] + ">"}
	}
	return p, nil
}

// parseJaCoCo streams a JaCoCo XML report: per <sourcefile> the <line nr mi
// ci> elements (a line is covered when ci > 0), or its LINE counter when the
// report has no lines; a package without source files falls back to its
// classes' LINE counters. The report's own LINE counter is the declared
// total.
func parseJaCoCo(name string, data []byte) (*Profile, error) {
	p := NewProfile(FormatJaCoCo)
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	var (
		stack       []string
		pkg         string
		cur         *File
		pkgHasFiles bool
		classCounts = map[string]Counts{}
	)
	parent := func() string {
		if len(stack) < 2 {
			return ""
		}
		return stack[len(stack)-2]
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlError(name, data, d, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			switch t.Name.Local {
			case "package":
				pkg = attr(t, "name")
				pkgHasFiles = false
				classCounts = map[string]Counts{}
			case "class":
				if sf := attr(t, "sourcefilename"); sf != "" {
					classCounts[sf] = classCounts[sf] // ensure present
					stack[len(stack)-1] = "class:" + sf
				}
			case "sourcefile":
				pkgHasFiles = true
				fn := attr(t, "name")
				if pkg != "" {
					fn = pkg + "/" + fn
				}
				cur = p.File(fn, strings.ReplaceAll(pkg, "/", "."))
			case "line":
				if cur == nil {
					continue
				}
				ln, err := strconv.Atoi(attr(t, "nr"))
				if err != nil {
					l, c := lineCol(data, d.InputOffset())
					return nil, &ParseError{File: name, Line: l, Col: c, Msg: "<line> without a valid nr attribute"}
				}
				mi, _ := strconv.ParseInt(attr(t, "mi"), 10, 64)
				ci, _ := strconv.ParseInt(attr(t, "ci"), 10, 64)
				if mi == 0 && ci == 0 {
					continue // no code on this line
				}
				if ln <= 0 {
					continue
				}
				cur.Lines[ln] = satAdd(cur.Lines[ln], ci)
			case "counter":
				if attr(t, "type") != "LINE" {
					continue
				}
				mi, e1 := strconv.ParseInt(attr(t, "missed"), 10, 64)
				ci, e2 := strconv.ParseInt(attr(t, "covered"), 10, 64)
				if e1 != nil || e2 != nil {
					l, c := lineCol(data, d.InputOffset())
					return nil, &ParseError{File: name, Line: l, Col: c, Msg: "LINE <counter> without valid missed/covered attributes"}
				}
				cnt := Counts{Covered: ci, Total: mi + ci}
				switch par := parent(); {
				case par == "report":
					p.Declared = &cnt
				case par == "sourcefile" && cur != nil:
					cur.Summary = &cnt
				case strings.HasPrefix(par, "class:"):
					sf := strings.TrimPrefix(par, "class:")
					classCounts[sf] = classCounts[sf].Add(cnt)
				}
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			// RawToken does not pair end tags with start tags: a stray
			// end tag (seen in hand-edited reports) is forgiven, as
			// lenient XML readers do.
			switch t.Name.Local {
			case "sourcefile":
				cur = nil
			case "package":
				if !pkgHasFiles {
					for sf, c := range classCounts {
						fn := sf
						if pkg != "" {
							fn = pkg + "/" + sf
						}
						f := p.File(fn, strings.ReplaceAll(pkg, "/", "."))
						c := c
						f.Summary = &c
					}
				}
			}
		}
	}
	if len(stack) != 0 {
		l, c := lineCol(data, int64(len(data)))
		return nil, &ParseError{File: name, Line: l, Col: c, Msg: "invalid XML: unexpected end of file inside <" + stack[len(stack)-1] + ">"}
	}
	return p, nil
}
