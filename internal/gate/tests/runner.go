package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Tool is the test runner a command line invokes, as far as re-running a
// subset goes.
type Tool string

const (
	ToolGo          Tool = "go test"
	ToolRebar3EUnit Tool = "rebar3 eunit"
	ToolRebar3CT    Tool = "rebar3 ct"
	ToolPytest      Tool = "pytest"
	ToolOther       Tool = ""
)

// DetectTool recognises the runner in argv.
func DetectTool(argv []string) Tool {
	if len(argv) == 0 {
		return ToolOther
	}
	base := filepath.Base(argv[0])
	has := func(s string) bool { return slices.Contains(argv[1:], s) }
	switch {
	case base == "go" && len(argv) > 1 && argv[1] == "test":
		return ToolGo
	case base == "rebar3" && has("eunit"):
		return ToolRebar3EUnit
	case base == "rebar3" && has("ct"):
		return ToolRebar3CT
	case base == "pytest" || base == "py.test":
		return ToolPytest
	case strings.HasPrefix(base, "python") && len(argv) > 2 && argv[1] == "-m" && argv[2] == "pytest":
		return ToolPytest
	}
	return ToolOther
}

// CommandRunner runs a test command as a child process. Results come from
// the JUnit files matching JUnitGlob that the run wrote (files older than
// the run are ignored), or from `go test -json` on its standard output.
type CommandRunner struct {
	Argv      []string
	Dir       string
	JUnitGlob string
	// Output receives the command's output (stdout and stderr), when set.
	Output io.Writer
	// Timeout bounds one attempt; zero means none.
	Timeout time.Duration
	tool    Tool
}

// NewCommandRunner returns a runner for argv.
func NewCommandRunner(argv []string, dir, junitGlob string) *CommandRunner {
	return &CommandRunner{Argv: argv, Dir: dir, JUnitGlob: junitGlob, tool: DetectTool(argv)}
}

// Tool is the recognised runner.
func (r *CommandRunner) Tool() Tool { return r.tool }

// CanSelect implements Runner.
func (r *CommandRunner) CanSelect() bool { return r.tool != ToolOther }

// SelectReason implements Runner.
func (r *CommandRunner) SelectReason() string {
	if r.tool == ToolOther {
		return fmt.Sprintf("%q is not a runner shipgate can filter (go test, rebar3 eunit, rebar3 ct, pytest)", filepath.Base(r.Argv[0]))
	}
	return ""
}

// Run implements Runner.
func (r *CommandRunner) Run(ctx context.Context, attempt int, only []Case) (*Report, error) {
	cmds := [][]string{r.Argv}
	if only != nil {
		cmds = r.selectArgs(only)
	}
	total := &Report{}
	for _, argv := range cmds {
		rep, err := r.runOnce(ctx, argv)
		if err != nil {
			return nil, err
		}
		total.Merge(rep)
	}
	return total, nil
}

func (r *CommandRunner) runOnce(ctx context.Context, argv []string) (*Report, error) {
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	pattern := r.JUnitGlob
	if pattern != "" && r.Dir != "" && !filepath.IsAbs(pattern) {
		pattern = filepath.Join(r.Dir, pattern)
	}
	before, err := snapshot(pattern)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = r.Dir
	var stdout, stderr bytes.Buffer
	if r.Output != nil {
		cmd.Stdout = io.MultiWriter(&stdout, r.Output)
		cmd.Stderr = io.MultiWriter(&stderr, r.Output)
	} else {
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
	}
	runErr := cmd.Run()
	var exitErr *exec.ExitError
	if runErr != nil && !errorsAs(runErr, &exitErr) {
		return nil, fmt.Errorf("running %s: %w", strings.Join(argv, " "), runErr)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("running %s: %w", strings.Join(argv, " "), ctx.Err())
	}
	if r.JUnitGlob != "" {
		after, err := snapshot(pattern)
		if err != nil {
			return nil, err
		}
		var files []string
		for f, st := range after {
			if old, ok := before[f]; !ok || old != st {
				files = append(files, f)
			}
		}
		slices.Sort(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("%s wrote no JUnit file matching %s%s", strings.Join(argv, " "), r.JUnitGlob, tail(stderr.String()))
		}
		return ReadFiles(files...)
	}
	rep, ok, err := ParseGoTestJSON("go test -json output", &stdout)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s printed no `go test -json` events; pass --junit GLOB for other runners%s", strings.Join(argv, " "), tail(stderr.String()))
	}
	return rep, nil
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "\n" + strings.Join(lines, "\n")
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// snapshot stats the files matching pattern (with ** for any depth), so a
// run's reports are told from older ones by a changed stamp.
func snapshot(pattern string) (map[string]fileStamp, error) {
	out := map[string]fileStamp{}
	if pattern == "" {
		return out, nil
	}
	var files []string
	if strings.Contains(pattern, "**") {
		root, rest, _ := strings.Cut(pattern, "**")
		root = filepath.Clean(root)
		rest = strings.TrimPrefix(rest, string(filepath.Separator))
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return nil
			}
			if ok, _ := filepath.Match(rest, filepath.Base(p)); ok || rest == "" {
				files = append(files, p)
			}
			return nil
		})
	} else {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("--junit %q: %v", pattern, err)
		}
		files = m
	}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && !st.IsDir() {
			out[f] = fileStamp{st.ModTime(), st.Size()}
		}
	}
	return out, nil
}

// selectArgs returns the command lines that re-run just the given tests.
func (r *CommandRunner) selectArgs(only []Case) [][]string {
	base := slices.Clone(r.Argv)
	switch r.tool {
	case ToolGo:
		// Top-level test names; a failed subtest re-runs its parent.
		names := map[string]bool{}
		for _, c := range only {
			n, _, _ := strings.Cut(c.Name, "/")
			if n == "" || n == PackageFailure || strings.HasPrefix(n, "[") {
				continue
			}
			names[regexp.QuoteMeta(n)] = true
		}
		re := "^(" + strings.Join(slices.Sorted(mapKeys(names)), "|") + ")$"
		return [][]string{append(base, "-count=1", "-run="+re)}
	case ToolRebar3EUnit:
		mods := map[string]bool{}
		for _, c := range only {
			mods[eunitModule(c)] = true
		}
		return [][]string{append(withoutFlags(base, "--module", "--suite", "--app", "--file", "--dir", "--test", "--generator"), "--module="+strings.Join(slices.Sorted(mapKeys(mods)), ","))}
	case ToolRebar3CT:
		bySuite := map[string][]string{}
		for _, c := range only {
			s := c.Suite
			if s == "" {
				s = c.Class
			}
			bySuite[s] = append(bySuite[s], c.Name)
		}
		var out [][]string
		for _, s := range slices.Sorted(mapKeys(bySuite)) {
			cases := slices.Compact(slices.Sorted(slices.Values(bySuite[s])))
			out = append(out, append(withoutFlags(slices.Clone(base), "--suite", "--case", "--group", "--dir"), "--suite="+s, "--case="+strings.Join(cases, ",")))
		}
		return out
	case ToolPytest:
		var nodes []string
		for _, c := range only {
			nodes = append(nodes, pytestNode(r.Dir, c))
		}
		slices.Sort(nodes)
		return [][]string{append(base, slices.Compact(nodes)...)}
	}
	return [][]string{base}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// withoutFlags drops --flag=value and --flag value pairs for the names.
func withoutFlags(argv []string, names ...string) []string {
	var out []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		drop := false
		for _, n := range names {
			if a == n {
				drop = true
				i++ // its value
				break
			}
			if strings.HasPrefix(a, n+"=") {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, a)
		}
	}
	return out
}

// eunitModule is the module an EUnit case belongs to: its classname, or
// the "module:" prefix of its name ("calc_tests:0 add_test" or
// "calc_tests:add_test/0").
func eunitModule(c Case) string {
	if c.Class != "" && !strings.Contains(c.Class, " ") {
		return c.Class
	}
	if m, _, ok := strings.Cut(c.Name, ":"); ok {
		return m
	}
	return c.Name
}

// pytestNode turns a JUnit case into a pytest node ID: the classname's
// leading dotted parts that name a file become path/to/test_x.py, the rest
// are classes: "tests.test_calc.TestAdd" + "test_one" ->
// "tests/test_calc.py::TestAdd::test_one". When no file matches, the name
// alone is used as a -k expression would be too loose, so the classname
// path is guessed.
func pytestNode(dir string, c Case) string {
	if c.SourceFile != "" {
		parts := []string{c.SourceFile}
		cls := strings.Split(c.Class, ".")
		if len(cls) > 0 && strings.HasPrefix(cls[len(cls)-1], "Test") {
			parts = append(parts, cls[len(cls)-1])
		}
		return strings.Join(append(parts, c.Name), "::")
	}
	parts := strings.Split(c.Class, ".")
	for i := len(parts); i > 0; i-- {
		file := filepath.Join(parts[:i]...) + ".py"
		if _, err := os.Stat(filepath.Join(dir, file)); err == nil {
			return strings.Join(append(append([]string{filepath.ToSlash(file)}, parts[i:]...), c.Name), "::")
		}
	}
	if len(parts) > 1 && strings.HasPrefix(parts[len(parts)-1], "Test") {
		return strings.Join(parts[:len(parts)-1], "/") + ".py::" + parts[len(parts)-1] + "::" + c.Name
	}
	return strings.Join(parts, "/") + ".py::" + c.Name
}
