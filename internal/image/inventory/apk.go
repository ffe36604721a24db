package inventory

import (
	"fmt"
)

// ApkEntry is one package of an Alpine installed database
// (/lib/apk/db/installed).
type ApkEntry struct {
	Name         string // P:
	Version      string // V:
	Architecture string // A:
	Origin       string // o: the source package ("" when not recorded)
	License      string // L:
	Line         int    // line of the entry's first field
}

// SourceName is the origin package name, else Name: Alpine's security
// database names origin packages.
func (e ApkEntry) SourceName() string {
	if e.Origin != "" {
		return e.Origin
	}
	return e.Name
}

// ParseApkInstalled reads an apk installed database: entries of "X:value"
// lines (one letter, a colon, the value) separated by blank lines.
// Malformed lines are reported and skipped; an entry without P: or V: is
// reported and left out.
func ParseApkInstalled(file string, data []byte) ([]ApkEntry, []Problem) {
	var (
		out    []ApkEntry
		probs  []Problem
		cur    ApkEntry
		has    bool
		lineNo int
	)
	flush := func() {
		if has {
			if cur.Name == "" || cur.Version == "" {
				probs = append(probs, Problem{file, cur.Line, 1, "package entry without P: (name) or V: (version)"})
			} else {
				out = append(out, cur)
			}
		}
		cur, has = ApkEntry{}, false
	}
	for len(data) > 0 {
		var line []byte
		line, data = nextLine(data)
		lineNo++
		if len(line) == 0 {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			probs = append(probs, Problem{file, lineNo, 1, fmt.Sprintf("want \"X:value\", got %q", truncate(string(line), 60))})
			continue
		}
		if !has {
			has = true
			cur.Line = lineNo
		}
		val := string(line[2:])
		switch line[0] {
		case 'P':
			cur.Name = val
		case 'V':
			cur.Version = val
		case 'A':
			cur.Architecture = val
		case 'o':
			cur.Origin = val
		case 'L':
			cur.License = val
		}
	}
	flush()
	return out, probs
}
