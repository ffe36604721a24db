package deps

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/shipgate/shipgate/internal/inventory"
	"github.com/shipgate/shipgate/internal/osv"
)

// IgnoreFile is .shipgate/deps-ignore.yml:
//
//	ignore:
//	  - id: GHSA-2q6v-32mr-8p8x     # or any alias (CVE-...)
//	    package: plug               # optional: only this package
//	    reason: "we never serve uploads with Plug.Static"
//	    expires: 2026-12-31         # required; after it the entry stops applying
//
// Every entry needs an id, a reason and an expiry date.
type IgnoreFile struct {
	Path    string        `json:"path"`
	Entries []IgnoreEntry `json:"ignore"`
}

// IgnoreEntry accepts one vulnerability until Expires.
type IgnoreEntry struct {
	ID      string `yaml:"id" json:"id"`
	Package string `yaml:"package" json:"package,omitempty"`
	Reason  string `yaml:"reason" json:"reason"`
	Expires string `yaml:"expires" json:"expires"`
	Line    int    `yaml:"-" json:"-"`
	Col     int    `yaml:"-" json:"-"`
	until   time.Time
}

func (e *IgnoreEntry) expired(now time.Time) bool { return !now.Before(e.until) }

// LoadIgnore reads and checks an ignore file. Errors name file:line:col.
func LoadIgnore(path string) (*IgnoreFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseIgnore(path, data)
}

// ParseIgnore parses an ignore file's content.
func ParseIgnore(path string, data []byte) (*IgnoreFile, error) {
	var doc struct {
		Ignore []IgnoreEntry `yaml:"ignore"`
	}
	if err := strictYAML(data, &doc); err != nil {
		return nil, fmt.Errorf("%s:%s", path, trimYAMLErr(err))
	}
	f, _ := parser.ParseBytes(data, 0)
	pos := func(i int, field string) (int, int) {
		p := fmt.Sprintf("$.ignore[%d]", i)
		if field != "" {
			p += "." + field
		}
		yp, err := yaml.PathString(p)
		if err != nil || f == nil {
			return 0, 0
		}
		n, err := yp.FilterFile(f)
		if err != nil || n == nil {
			yp, _ = yaml.PathString(fmt.Sprintf("$.ignore[%d]", i))
			if yp == nil {
				return 0, 0
			}
			if n, err = yp.FilterFile(f); err != nil || n == nil {
				return 0, 0
			}
		}
		if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
			n = m.Values[0].Key
		}
		t := n.GetToken()
		if t == nil || t.Position == nil {
			return 0, 0
		}
		return t.Position.Line, t.Position.Column
	}
	out := &IgnoreFile{Path: path}
	for i, e := range doc.Ignore {
		e.Line, e.Col = pos(i, "")
		fail := func(field, msg string) error {
			l, c := pos(i, field)
			return fmt.Errorf("%s:%d:%d: ignore entry %d: %s", path, l, c, i+1, msg)
		}
		if e.ID == "" {
			return nil, fail("", "needs an id (the vulnerability ID or one of its aliases)")
		}
		if e.Reason == "" {
			return nil, fail("", fmt.Sprintf("%s needs a reason", e.ID))
		}
		if e.Expires == "" {
			return nil, fail("", fmt.Sprintf("%s needs an expiry date (expires: YYYY-MM-DD)", e.ID))
		}
		t, err := time.Parse("2006-01-02", e.Expires)
		if err != nil {
			return nil, fail("expires", fmt.Sprintf("expires %q is not a date YYYY-MM-DD", e.Expires))
		}
		// The entry applies through the whole expiry day (UTC).
		e.until = t.AddDate(0, 0, 1)
		out.Entries = append(out.Entries, e)
	}
	return out, nil
}

func trimYAMLErr(err error) string {
	s := yaml.FormatError(err, false, false)
	if len(s) > 0 && s[0] == '[' {
		s = s[1:]
	}
	return s
}

// match returns the first unexpired entry accepting v in p, and its index.
func (f *IgnoreFile) match(p inventory.Package, v osv.Vuln, now time.Time) (int, *IgnoreEntry) {
	for i := range f.Entries {
		e := &f.Entries[i]
		if e.expired(now) {
			continue
		}
		if e.Package != "" && e.Package != p.Name {
			continue
		}
		if e.ID == v.ID || slices.Contains(v.IDs, e.ID) || slices.Contains(v.Aliases, e.ID) {
			return i, e
		}
	}
	return -1, nil
}

// strictYAML decodes strictly; a panic inside the YAML library (found by
// FuzzIgnoreFile on "ignore: ! ", kept in testdata/fuzz) is an error.
func strictYAML(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf(" the YAML cannot be read (%v)", r)
		}
	}()
	return yaml.UnmarshalWithOptions(data, v, yaml.Strict())
}
