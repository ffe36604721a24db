package lint

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/shipgate/shipgate/internal/diag"
)

// Config is the lint.yml file: rules turned off or given another severity,
// and paths not to review.
//
//	rules:
//	  DL3008: off            # off, error, warning or info
//	  kube/limits: info
//	ignore:
//	  - "testdata/**"
//	  - "charts/*/templates/*.yaml"
type Config struct {
	// Rules maps a rule ID to "off" or a severity name.
	Rules map[string]string `yaml:"rules"`
	// Ignore lists path patterns (path.Match syntax, plus ** for any
	// number of folders) that are not reviewed.
	Ignore []string `yaml:"ignore"`
}

// LoadConfig reads a lint.yml file. Errors carry file:line:col.
func LoadConfig(file string) (*Config, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading lint config: %w", err)
	}
	return ParseConfig(file, src)
}

// ParseConfig parses lint.yml text; unknown keys and bad values are errors
// with their position.
func ParseConfig(file string, src []byte) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalWithOptions(src, &c, yaml.Strict()); err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			if t := ye.GetToken(); t != nil && t.Position != nil {
				return nil, fmt.Errorf("%s:%d:%d: %s", file, t.Position.Line, t.Position.Column, ye.GetMessage())
			}
		}
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	for id, v := range c.Rules {
		if ownRule(id) && !knownRule(id) {
			return nil, fmt.Errorf("%s: rules: unknown rule %q (see docs/lint-rules.md)", file, id)
		}
		if strings.EqualFold(v, "off") || strings.EqualFold(v, "false") {
			continue
		}
		if _, err := diag.ParseSeverity(strings.ToLower(v)); err != nil {
			return nil, fmt.Errorf("%s: rules.%s: %q is not off, error, warning or info", file, id, v)
		}
	}
	for _, p := range c.Ignore {
		if _, err := path.Match(strings.ReplaceAll(p, "**", "*"), ""); err != nil {
			return nil, fmt.Errorf("%s: ignore: bad pattern %q: %v", file, p, err)
		}
	}
	return &c, nil
}

// ownRule reports whether id is in one of shipgate lint's own rule
// families (the workflow checks wired in from internal/workflow use
// actionlint's rule names, which are accepted as given).
func ownRule(id string) bool {
	return strings.HasPrefix(id, "kube/") || strings.HasPrefix(id, "dockerfile/") ||
		strings.HasPrefix(id, "workflow/") || strings.HasPrefix(id, "DL") || strings.HasPrefix(id, "lint/")
}

// apply returns the diagnostic after the config: ok is false when the rule
// is turned off.
func (c *Config) apply(d diag.Diagnostic) (diag.Diagnostic, bool) {
	if c == nil {
		return d, true
	}
	v, ok := c.Rules[d.Rule]
	if !ok {
		return d, true
	}
	if strings.EqualFold(v, "off") || strings.EqualFold(v, "false") {
		return d, false
	}
	if s, err := diag.ParseSeverity(strings.ToLower(v)); err == nil {
		d.Severity = s
	}
	return d, true
}

// ignored reports whether a path matches one of the ignore patterns.
func (c *Config) ignored(p string) bool {
	if c == nil {
		return false
	}
	p = path.Clean(strings.ReplaceAll(p, "\\", "/"))
	for _, pat := range c.Ignore {
		if globMatch(pat, p) {
			return true
		}
	}
	return false
}

// globMatch matches path.Match patterns where ** stands for any number of
// path elements (including none).
func globMatch(pat, p string) bool {
	if !strings.Contains(pat, "**") {
		ok, _ := path.Match(pat, p)
		if !ok {
			// A pattern without a slash matches the base name anywhere.
			if !strings.Contains(pat, "/") {
				ok, _ = path.Match(pat, path.Base(p))
			}
		}
		return ok
	}
	before, after, _ := strings.Cut(pat, "**")
	before = strings.TrimSuffix(before, "/")
	after = strings.TrimPrefix(after, "/")
	parts := strings.Split(p, "/")
	for i := 0; i <= len(parts); i++ {
		head := strings.Join(parts[:i], "/")
		if before != "" {
			if ok, _ := path.Match(before, head); !ok {
				continue
			}
		}
		for j := i; j <= len(parts); j++ {
			tail := strings.Join(parts[j:], "/")
			if after == "" || globMatch(after, tail) {
				return true
			}
		}
	}
	return false
}
