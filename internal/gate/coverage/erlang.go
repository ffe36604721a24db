package coverage

import (
	"bytes"
	"html"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Erlang's cover tool leaves a binary *.coverdata file; these parsers read
// what users can produce from it: the per-module pages written by
// cover:analyse_to_file/2 (the old <pre> layout, "NN..|" per line, and the
// table layout of OTP 23+ with <tr class="hit|miss">), the index.html summary
// that rebar3 (or rebar2's .eunit/index.html) writes, and the table that
// `rebar3 cover --verbose` prints.

var (
	erlGenerated  = regexp.MustCompile(`File generated from (?:<code>)?([^<\s]+?)(?:</code>)? by`)
	erlOldLine    = regexp.MustCompile(`^(?:<font color=red>)?\s*(\d+)\.\.\|`)
	erlNewRow     = regexp.MustCompile(`(?s)<tr class="(hit|miss)">\s*<td class="line" id="L(\d+)">.*?<td class="hits">(.*?)</td>`)
	erlIndexRow   = regexp.MustCompile(`<td><a href=['"]([^'"]+)['"]>([^<]+)</a></td>\s*<td>([0-9.]+)%</td>`)
	erlIndexTotal = regexp.MustCompile(`(?:<h3>Total: ([0-9.]+)%</h3>|<td><strong>Total</strong></td>\s*<td>([0-9.]+)%</td>)`)
	rebar3Row     = regexp.MustCompile(`^\s*\|\s*(\S+)\s*\|\s*([0-9.]+)%\s*\|\s*$`)
	ansiEscape    = regexp.MustCompile("\x1b\\[[0-9;]*m")
)

// erlModule names the module a page covers: from the source path the page
// says it was generated from, else from the page's own file name.
func erlModule(name string, data []byte) (module, source string) {
	if m := erlGenerated.FindSubmatch(data); m != nil {
		source = html.UnescapeString(string(m[1]))
		base := path.Base(strings.ReplaceAll(source, `\`, "/"))
		return strings.TrimSuffix(base, ".erl"), source
	}
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	base = strings.TrimSuffix(base, ".html")
	base = strings.TrimSuffix(base, ".COVER")
	return base, ""
}

// parseErlangPage reads one module's cover page.
func parseErlangPage(name string, data []byte) (*Profile, error) {
	p := NewProfile(FormatErlHTML)
	module, _ := erlModule(name, data)
	f := p.File(module+".erl", module)
	if bytes.Contains(data, []byte(`<td class="hits">`)) {
		for _, m := range erlNewRow.FindAllSubmatch(data, -1) {
			ln, err := strconv.Atoi(string(m[2]))
			if err != nil {
				continue
			}
			if string(m[1]) == "miss" {
				f.Lines[ln] = satAdd(f.Lines[ln], 0)
				continue
			}
			// A hit row's cell holds the count; ":-(" marks a miss.
			n, err := strconv.ParseInt(strings.TrimSpace(string(m[3])), 10, 64)
			if err != nil || n < 1 {
				n = 1
			}
			f.Lines[ln] = satAdd(f.Lines[ln], n)
		}
		return p, nil
	}
	// The old layout: a <pre> block; source lines follow the line of stars.
	lines := strings.Split(string(data), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "*****") {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, &ParseError{File: name, Msg: "Erlang cover page without the line of stars that starts the source"}
	}
	src := 0
	for _, l := range lines[start:] {
		if strings.HasPrefix(l, "</pre>") {
			break
		}
		bar := strings.IndexByte(l, '|')
		if bar < 0 {
			continue
		}
		src++
		if m := erlOldLine.FindStringSubmatch(l); m != nil {
			n, err := strconv.ParseInt(m[1], 10, 64)
			if err == nil {
				f.Lines[src] += n
			}
		}
	}
	return p, nil
}

// parseErlangIndex reads a cover index.html: one percentage per module and
// a total, without line counts. With several sections (rebar3's aggregate,
// ct, eunit) the first (aggregate) is used.
func parseErlangIndex(name string, data []byte) (*Profile, error) {
	p := NewProfile(FormatErlIndex)
	p.PercentOnly = true
	text := string(data)
	// Sections start at <h1>; keep the first that has rows.
	sections := strings.Split(text, "<h1>")
	for _, sec := range sections {
		rows := erlIndexRow.FindAllStringSubmatch(sec, -1)
		if len(rows) == 0 {
			continue
		}
		for _, r := range rows {
			pct, err := strconv.ParseFloat(r[3], 64)
			if err != nil {
				continue
			}
			if pct < 0 || pct > 100 {
				at := strings.Index(text, r[0])
				line := strings.Count(text[:max(at, 0)], "\n") + 1
				return nil, &ParseError{File: name, Line: line, Msg: "bad coverage percentage " + strconv.Quote(r[3]+"%")}
			}
			mod := html.UnescapeString(r[2])
			f := p.File(mod+".erl", mod)
			f.Summary = &Counts{Covered: int64(pct * 100), Total: 10000}
			f.pctOnly = true
		}
		if m := erlIndexTotal.FindStringSubmatch(sec); m != nil {
			v := m[1]
			if v == "" {
				v = m[2]
			}
			if pct, err := strconv.ParseFloat(v, 64); err == nil {
				p.DeclaredPercent = pct
			}
		}
		return p, nil
	}
	return nil, &ParseError{File: name, Msg: "cover index page without module rows"}
}

// parseRebar3 reads the table `rebar3 cover --verbose` prints.
func parseRebar3(name string, data []byte) (*Profile, error) {
	p := NewProfile(FormatRebar3)
	p.PercentOnly = true
	for i, raw := range strings.Split(string(data), "\n") {
		line := ansiEscape.ReplaceAllString(strings.TrimRight(raw, "\r"), "")
		m := rebar3Row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pct, err := strconv.ParseFloat(m[2], 64)
		if err != nil || pct > 100 {
			return nil, &ParseError{File: name, Line: i + 1, Col: strings.Index(line, m[2]) + 1, Msg: "bad coverage percentage " + strconv.Quote(m[2])}
		}
		if m[1] == "total" {
			p.DeclaredPercent = pct
			continue
		}
		f := p.File(m[1]+".erl", m[1])
		f.Summary = &Counts{Covered: int64(pct * 100), Total: 10000}
		f.pctOnly = true
	}
	if len(p.Files) == 0 && p.DeclaredPercent < 0 {
		return nil, &ParseError{File: name, Msg: "no module rows in rebar3 cover output"}
	}
	return p, nil
}
