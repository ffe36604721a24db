// Package diag is the one diagnostic type every parser, check and gate in
// shipgate reports through, and its printers: text with the source line and
// a ^~~~ underline (as actionlint prints), JSON, and SARIF 2.1.0.
package diag

import (
	"cmp"
	"fmt"
	"slices"
)

// Severity orders diagnostics from most to least serious.
type Severity int

const (
	// Error makes a check fail (exit 1).
	Error Severity = iota
	// Warning is reported but does not fail.
	Warning
	// Info is a note for the reader.
	Info
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// MarshalText writes the severity as its name, so JSON shows "error".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// ParseSeverity reads "error", "warning" or "info" (and "note").
func ParseSeverity(name string) (Severity, error) {
	switch name {
	case "error":
		return Error, nil
	case "warning", "warn":
		return Warning, nil
	case "info", "note":
		return Info, nil
	}
	return Error, fmt.Errorf("unknown severity %q (want error, warning or info)", name)
}

// Pos is a place in a file. Line and Col are 1-based; zero means unknown.
// EndCol, when set, is the column just after the span that is underlined.
type Pos struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Col    int    `json:"column,omitempty"`
	EndCol int    `json:"end_column,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Diagnostic is one positioned message with the rule that produced it.
type Diagnostic struct {
	Pos      Pos      `json:"pos"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

func (d Diagnostic) String() string {
	return fmt.Sprintf("%s: %s [%s]", d.Pos, d.Message, d.Rule)
}

// Errorf builds an error-severity diagnostic.
func Errorf(pos Pos, rule, format string, args ...any) Diagnostic {
	return Diagnostic{Pos: pos, Rule: rule, Severity: Error, Message: fmt.Sprintf(format, args...)}
}

// Warnf builds a warning diagnostic.
func Warnf(pos Pos, rule, format string, args ...any) Diagnostic {
	return Diagnostic{Pos: pos, Rule: rule, Severity: Warning, Message: fmt.Sprintf(format, args...)}
}

// Sort orders diagnostics by file, line, column, then rule, so the same input
// always prints the same way.
func Sort(ds []Diagnostic) {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// HasErrors reports whether any diagnostic is an error.
func HasErrors(ds []Diagnostic) bool {
	return slices.ContainsFunc(ds, func(d Diagnostic) bool { return d.Severity == Error })
}

// Count returns how many diagnostics have each severity.
func Count(ds []Diagnostic) (errors, warnings, infos int) {
	for _, d := range ds {
		switch d.Severity {
		case Error:
			errors++
		case Warning:
			warnings++
		default:
			infos++
		}
	}
	return
}
