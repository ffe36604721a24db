package inventory

import (
	"bytes"
	"fmt"
	"strings"
)

// DpkgEntry is one paragraph of a dpkg status database
// (/var/lib/dpkg/status, or a file of /var/lib/dpkg/status.d/ as distroless
// images keep them).
type DpkgEntry struct {
	Package       string
	Version       string
	Architecture  string
	Status        string
	Source        string // source package name ("" when the same as Package)
	SourceVersion string // source version ("" when the same as Version)
	Line          int    // line of the paragraph's first field
}

// Installed reports whether dpkg counts the package as present: any
// state but not-installed and config-files (only the conffiles left).
func (e DpkgEntry) Installed() bool {
	f := strings.Fields(e.Status)
	if len(f) != 3 {
		// status.d files of distroless images carry no Status field.
		return e.Status == ""
	}
	return f[2] != "not-installed" && f[2] != "config-files"
}

// SourceName is the source package name: Source, else Package.
func (e DpkgEntry) SourceName() string {
	if e.Source != "" {
		return e.Source
	}
	return e.Package
}

// SourceVer is the source package version: the one in
// "Source: name (version)", else Version.
func (e DpkgEntry) SourceVer() string {
	if e.SourceVersion != "" {
		return e.SourceVersion
	}
	return e.Version
}

// Problem is a line a parser could not read; parsing goes on after it.
type Problem struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (p Problem) Error() string { return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg) }

// ParseDpkgStatus reads a dpkg status file: paragraphs of "Field: value"
// lines (continuation lines start with a space or tab) separated by blank
// lines. Every paragraph with a Package field is returned, in file order,
// installed or not; lines that are neither a field nor a continuation are
// reported as problems and skipped, as dpkg's own parser would refuse them
// but one bad line should not hide the rest of an image.
func ParseDpkgStatus(file string, data []byte) ([]DpkgEntry, []Problem) {
	var (
		out      []DpkgEntry
		probs    []Problem
		cur      DpkgEntry
		has      bool
		lastKey  string
		lineNo   int
		startLin int
	)
	flush := func() {
		if has {
			if cur.Package == "" {
				probs = append(probs, Problem{file, startLin, 1, "paragraph without a Package field"})
			} else {
				out = append(out, cur)
			}
		}
		cur, has, lastKey = DpkgEntry{}, false, ""
	}
	for len(data) > 0 {
		var line []byte
		line, data = nextLine(data)
		lineNo++
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if lastKey == "" {
				probs = append(probs, Problem{file, lineNo, 1, "continuation line outside a field"})
			}
			continue
		}
		if line[0] == '#' {
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || bytes.ContainsAny(line[:colon], " \t") {
			probs = append(probs, Problem{file, lineNo, 1, fmt.Sprintf("want \"Field: value\", got %q", truncate(string(line), 60))})
			lastKey = ""
			continue
		}
		if !has {
			has, startLin = true, lineNo
			cur.Line = lineNo
		}
		key := string(line[:colon])
		val := strings.TrimSpace(string(line[colon+1:]))
		lastKey = key
		switch strings.ToLower(key) {
		case "package":
			cur.Package = val
		case "version":
			cur.Version = val
		case "architecture":
			cur.Architecture = val
		case "status":
			cur.Status = val
		case "source":
			name, ver, ok := strings.Cut(val, "(")
			cur.Source = strings.TrimSpace(name)
			if ok {
				ver = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(ver), ")"))
				cur.SourceVersion = ver
			}
			if cur.Source == cur.Package {
				cur.Source = ""
			}
		}
	}
	flush()
	return out, probs
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// nextLine splits off the first line of data (without its \n or \r\n).
func nextLine(data []byte) (line, rest []byte) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		line, rest = data[:i], data[i+1:]
	} else {
		line = data
	}
	return bytes.TrimSuffix(line, []byte("\r")), rest
}
