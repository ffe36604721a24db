// Package osv reads vulnerability records and matches packages against
// them, offline.
//
// Records come in the OSV schema (https://ossf.github.io/osv-schema/) as
// JSON or YAML files in a folder, or inside osv.dev's per-ecosystem zip
// exports (all.zip, also laid out as osv-scanner's local database
// DIR/osv-scalibr/<Ecosystem>/all.zip), plus the elixir-security-advisories
// YAML format that mix_audit reads (converted on load, see mixaudit.go).
//
// Load builds a DB indexed by ecosystem and normalized package name;
// DB.Match returns the records affecting one package version, with
// withdrawn records left out and records that alias each other merged into
// one Vuln. Versions are compared with each ecosystem's rules through
// osv-scalibr's semantic package (SemVer with Go pseudo-versions and
// +incompatible, PEP 440, RubyGems, Hex, Maven, NuGet...), the same
// comparison osv-scanner uses.
package osv

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Event is one point of an OSV range.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Range is an OSV affected range.
type Range struct {
	Type   string  `json:"type"`
	Repo   string  `json:"repo,omitempty"`
	Events []Event `json:"events"`
}

// PackageRef names the affected package.
type PackageRef struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	PURL      string `json:"purl,omitempty"`
}

// Affected is one affected package of a record.
type Affected struct {
	Package  PackageRef `json:"package"`
	Ranges   []Range    `json:"ranges,omitempty"`
	Versions []string   `json:"versions,omitempty"`
	// Requirements are Hex version requirements ("< 0.4.0",
	// ">= 2.0.0, < 4.0.1") from elixir-security-advisories; a version that
	// meets any of them is affected. Not part of the OSV schema: records
	// converted from that format keep them for exact matching.
	Requirements []string `json:"-"`
	// Patched are the first patched versions that format lists.
	Patched          []string       `json:"-"`
	DatabaseSpecific map[string]any `json:"database_specific,omitempty"`
}

// Severity is one severity entry: a CVSS vector or another scheme.
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Reference is a link of a record.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Record is one OSV vulnerability record.
type Record struct {
	SchemaVersion    string         `json:"schema_version,omitempty"`
	ID               string         `json:"id"`
	Modified         string         `json:"modified,omitempty"`
	Published        string         `json:"published,omitempty"`
	Withdrawn        string         `json:"withdrawn,omitempty"`
	Aliases          []string       `json:"aliases,omitempty"`
	Related          []string       `json:"related,omitempty"`
	Summary          string         `json:"summary,omitempty"`
	Details          string         `json:"details,omitempty"`
	Severity         []Severity     `json:"severity,omitempty"`
	Affected         []Affected     `json:"affected,omitempty"`
	References       []Reference    `json:"references,omitempty"`
	DatabaseSpecific map[string]any `json:"database_specific,omitempty"`
	// Source is the file (and zip entry) the record came from.
	Source string `json:"-"`
}

// IsWithdrawn reports whether the record has been withdrawn (at any time
// up to now).
func (r *Record) IsWithdrawn() bool {
	if r.Withdrawn == "" {
		return false
	}
	t, err := time.Parse(time.RFC3339, r.Withdrawn)
	return err != nil || !t.After(time.Now())
}

// DeclaredSeverity is the textual severity a database attached to the
// record (GHSA's database_specific.severity, mix_audit's severity), in
// upper case, or "".
func (r *Record) DeclaredSeverity() string {
	if s, ok := r.DatabaseSpecific["severity"].(string); ok {
		return strings.ToUpper(s)
	}
	return ""
}

var pypiNameRe = regexp.MustCompile(`[-_.]+`)

// NormalizeName returns the form of a package name that matching uses:
// PyPI names per PEP 503, everything else as is (Hex and crates.io names
// are lower case by rule; npm, Go and Maven names are case-sensitive).
func NormalizeName(ecosystem, name string) string {
	switch baseEcosystem(ecosystem) {
	case "PyPI":
		return strings.ToLower(pypiNameRe.ReplaceAllString(name, "-"))
	}
	return name
}

// baseEcosystem strips an ecosystem's ":suffix" (e.g. "Debian:12").
func baseEcosystem(e string) string {
	b, _, _ := strings.Cut(e, ":")
	return b
}

// parseRecordJSON decodes one record and checks what matching needs.
func parseRecordJSON(src string, data []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, jsonError(src, data, err)
	}
	if r.ID == "" {
		return nil, fmt.Errorf("%s: OSV record has no id", src)
	}
	r.Source = src
	return &r, nil
}

// jsonError adds a line:col to a JSON syntax or type error.
func jsonError(src string, data []byte, err error) error {
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return fmt.Errorf("%s: %v", src, err)
	}
	line := 1 + strings.Count(string(data[:off]), "\n")
	col := int(off) - strings.LastIndex(string(data[:off]), "\n")
	return fmt.Errorf("%s:%d:%d: %v", src, line, col, err)
}

// ids returns the record's ID and aliases.
func (r *Record) ids() []string {
	return append([]string{r.ID}, r.Aliases...)
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
