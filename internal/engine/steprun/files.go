package steprun

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KV is one name/value pair from an environment file, in file order.
type KV struct {
	Name, Value string
}

// ParseEnvFile reads the GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE format:
// lines "name=value", or "name<<DELIMITER" followed by value lines and a
// line holding only DELIMITER. Empty lines are ignored; CRLF is accepted.
// A missing closing delimiter or a line without = or << is an error naming
// the line.
func ParseEnvFile(content string) ([]KV, error) {
	content = strings.ReplaceAll(content, "\r\n", "\n")
	lines := strings.Split(content, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	var out []KV
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		eq := strings.IndexByte(line, '=')
		heredoc := strings.Index(line, "<<")
		if heredoc > 0 && (eq < 0 || heredoc < eq) {
			name, delim := line[:heredoc], line[heredoc+2:]
			if delim == "" {
				return nil, fmt.Errorf("line %d: empty delimiter after %s<<", i+1, name)
			}
			var val []string
			closed := false
			for i++; i < len(lines); i++ {
				if lines[i] == delim {
					closed = true
					break
				}
				val = append(val, lines[i])
			}
			if !closed {
				return nil, fmt.Errorf("value of %s: no closing line %q", name, delim)
			}
			out = append(out, KV{name, strings.Join(val, "\n")})
			continue
		}
		if eq <= 0 {
			return nil, fmt.Errorf("line %d: %q is neither name=value nor name<<DELIMITER", i+1, line)
		}
		out = append(out, KV{line[:eq], line[eq+1:]})
	}
	return out, nil
}

// Files are the per-step command files a step writes to.
type Files struct {
	Output, Env, Path, State, Summary string
}

// NewFiles names the command files for one step in dir. The files are
// not created: a step's `>> "$GITHUB_OUTPUT"` creates its file, and a file
// never written reads as empty. (Creating five files per step was the
// largest cost of a `true` step.) dir must exist.
func NewFiles(dir, stepKey string) (*Files, error) {
	d := dir
	f := &Files{
		Output:  filepath.Join(d, "set_output_"+stepKey),
		Env:     filepath.Join(d, "set_env_"+stepKey),
		Path:    filepath.Join(d, "add_path_"+stepKey),
		State:   filepath.Join(d, "save_state_"+stepKey),
		Summary: filepath.Join(d, "step_summary_"+stepKey),
	}
	return f, nil
}

// Environ is the variables that point a step at its files.
func (f *Files) Environ() map[string]string {
	return map[string]string{
		"GITHUB_OUTPUT":       f.Output,
		"GITHUB_ENV":          f.Env,
		"GITHUB_PATH":         f.Path,
		"GITHUB_STATE":        f.State,
		"GITHUB_STEP_SUMMARY": f.Summary,
	}
}

// Results is what a step wrote to its files.
type Results struct {
	Outputs []KV
	Env     []KV
	Path    []string // in file order; each is prepended, so the last is first in PATH
	State   []KV
	Summary string
}

// Read parses the files after the step ran.
func (f *Files) Read() (*Results, error) {
	r := &Results{}
	parse := func(name, path string) ([]KV, error) {
		b, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		kv, err := ParseEnvFile(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return kv, nil
	}
	var err error
	if r.Outputs, err = parse("GITHUB_OUTPUT", f.Output); err != nil {
		return nil, err
	}
	if r.Env, err = parse("GITHUB_ENV", f.Env); err != nil {
		return nil, err
	}
	if r.State, err = parse("GITHUB_STATE", f.State); err != nil {
		return nil, err
	}
	b, _ := os.ReadFile(f.Path)
	for _, l := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			r.Path = append(r.Path, l)
		}
	}
	b, _ = os.ReadFile(f.Summary)
	r.Summary = string(b)
	return r, nil
}
