package tests

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
)

// DefaultQuarantineFile is where the quarantine lives in a project.
const DefaultQuarantineFile = ".shipgate/quarantine.yml"

// Quarantine is the list of known-flaky tests whose failures are reported
// but do not fail the gate, each with an owner, a reason and an expiry:
//
//	tests:
//	  - test: "com.example.CartTest::addsItem"   # ID, class.name, name, or a glob
//	    owner: "@alice"
//	    reason: "races with the cache warmer, #812"
//	    expires: 2026-12-31
type Quarantine struct {
	File    string            `json:"file"`
	Entries []QuarantineEntry `json:"entries"`
}

// QuarantineEntry is one quarantined test.
type QuarantineEntry struct {
	Test    string `json:"test" yaml:"test"`
	Owner   string `json:"owner" yaml:"owner"`
	Reason  string `json:"reason" yaml:"reason"`
	Expires string `json:"expires" yaml:"expires"`
	// Line and Col locate the entry in the file.
	Line int `json:"line,omitempty" yaml:"-"`
	Col  int `json:"col,omitempty" yaml:"-"`
	// until is Expires parsed: the entry holds through that whole day (UTC).
	until time.Time
}

// Expired reports whether the entry no longer holds at now.
func (e QuarantineEntry) Expired(now time.Time) bool { return !now.Before(e.until) }

// Matches reports whether the entry covers the test case c: the pattern
// equals its ID ("class::name"), "class.name", or the bare name, or matches
// one of them as a path.Match glob.
func (e QuarantineEntry) Matches(c Case) bool {
	cands := []string{c.ID(), c.Name}
	if c.Class != "" {
		cands = append(cands, c.Class+"."+c.Name)
	}
	for _, s := range cands {
		if s == e.Test {
			return true
		}
		if strings.ContainsAny(e.Test, "*?[") {
			if ok, _ := path.Match(e.Test, s); ok {
				return true
			}
		}
	}
	return false
}

// LoadQuarantine reads a quarantine file. A missing file is an empty
// quarantine when optional is true. Entries without owner, reason or a valid
// expiry date are errors with file:line:col.
func LoadQuarantine(name string, optional bool) (*Quarantine, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return &Quarantine{File: name}, nil
		}
		return nil, err
	}
	var doc struct {
		Tests []QuarantineEntry `yaml:"tests"`
	}
	if err := yaml.UnmarshalWithOptions(data, &doc, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%s: %s", name, yaml.FormatError(err, false, false))
	}
	file, err := yamlparser.ParseBytes(data, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	q := &Quarantine{File: name}
	for i, e := range doc.Tests {
		e.Line, e.Col = nodePos(file, fmt.Sprintf("$.tests[%d]", i))
		where := fmt.Sprintf("%s:%d:%d", name, e.Line, e.Col)
		var missing []string
		if strings.TrimSpace(e.Test) == "" {
			missing = append(missing, "test")
		}
		if strings.TrimSpace(e.Owner) == "" {
			missing = append(missing, "owner")
		}
		if strings.TrimSpace(e.Reason) == "" {
			missing = append(missing, "reason")
		}
		if strings.TrimSpace(e.Expires) == "" {
			missing = append(missing, "expires")
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("%s: quarantine entry needs %s", where, strings.Join(missing, ", "))
		}
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(e.Expires))
		if err != nil {
			d, err = time.Parse(time.RFC3339, strings.TrimSpace(e.Expires))
			if err != nil {
				return nil, fmt.Errorf("%s: expires %q is not a date (want YYYY-MM-DD)", where, e.Expires)
			}
			e.until = d
		} else {
			e.until = d.AddDate(0, 0, 1)
		}
		q.Entries = append(q.Entries, e)
	}
	return q, nil
}

func nodePos(f *ast.File, p string) (int, int) {
	yp, err := yaml.PathString(p)
	if err != nil {
		return 0, 0
	}
	n, err := yp.FilterFile(f)
	if err != nil || n == nil || n.GetToken() == nil || n.GetToken().Position == nil {
		return 0, 0
	}
	pos := n.GetToken().Position
	return pos.Line, pos.Column
}

// Find returns the entry covering c, if any.
func (q *Quarantine) Find(c Case) (QuarantineEntry, bool) {
	if q == nil {
		return QuarantineEntry{}, false
	}
	for _, e := range q.Entries {
		if e.Matches(c) {
			return e, true
		}
	}
	return QuarantineEntry{}, false
}
