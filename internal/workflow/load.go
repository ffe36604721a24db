package workflow

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
	"github.com/shipgate/shipgate/internal/diag"
)

// RuleSupport is the rule ID of shipgate's own check: a key or feature the
// engine does not run yet.
const RuleSupport = "shipgate-support"

// MaxFileSize is the largest workflow file we read; GitHub's own limit on a
// workflow file is far below it.
const MaxFileSize = 10 << 20

// Options tune loading.
type Options struct {
	// Strict makes unsupported features errors (plan, run) instead of
	// warnings (validate).
	Strict bool
	// KnownAction reports whether a `uses:` reference is built in. Nil
	// accepts every action.
	KnownAction func(ref string) (ok bool, builtins []string)
	// NoScriptCheck turns off actionlint's shellcheck and pyflakes rules,
	// which otherwise run when those binaries are on PATH, as in the
	// actionlint CLI.
	NoScriptCheck bool
	// ProjectRoot, when set, is where local actions (`uses: ./x`) and
	// reusable workflows are looked up; by default the nearest folder above
	// the file that holds .github.
	ProjectRoot string
	// DisplayName, when set, replaces the path in diagnostics.
	DisplayName string
	// Containers accepts `container:` and `services:` (the chosen executor
	// runs them); otherwise they are reported by the support rule.
	Containers bool
}

// Load reads and parses one workflow file. The error is for a file that
// cannot be read at all (exit 2); problems inside the file are diagnostics.
func Load(path string, opts Options) (*Workflow, []diag.Diagnostic, error) {
	src, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	if err := checkText(path, src); err != nil {
		return nil, nil, err
	}
	wf, ds := Parse(path, src, opts)
	for _, d := range ds {
		if strings.Contains(d.Message, "exceeded max depth") {
			return nil, nil, fmt.Errorf("%s: not a workflow: %s", d.Pos, d.Message)
		}
	}
	return wf, ds, nil
}

func readFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read workflow: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("cannot read workflow %s: is a directory", path)
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("cannot read workflow %s: %d bytes is over the %d MiB limit", path, fi.Size(), MaxFileSize>>20)
	}
	return os.ReadFile(path)
}

// Parse parses workflow source. The returned workflow is nil when the file
// is not a workflow at all (not YAML, or empty); diagnostics say why.
func Parse(path string, src []byte, opts Options) (wf *Workflow, ds []diag.Diagnostic) {
	defer func() {
		if r := recover(); r != nil {
			if os.Getenv("SHIPGATE_PANIC") != "" {
				panic(r)
			}
			wf = nil
			ds = append(ds, diag.Errorf(diag.Pos{File: path, Line: 1, Col: 1}, "internal", "internal error while parsing (please report): %v", r))
		}
	}()
	if d, bad := notText(path, src); bad {
		return nil, []diag.Diagnostic{d}
	}
	var ast *actionlint.Workflow
	support := newSupportRule(opts)
	lopts := &actionlint.LinterOptions{
		LogWriter: io.Discard,
		OnRulesCreated: func(rules []actionlint.Rule) []actionlint.Rule {
			return append(rules, support, &captureRule{RuleBase: actionlint.NewRuleBase("shipgate-capture", ""), ast: &ast})
		},
	}
	if !opts.NoScriptCheck {
		lopts.Shellcheck = lookPath("shellcheck")
		lopts.Pyflakes = lookPath("pyflakes", "pyflakes3")
	}
	linter, err := actionlint.NewLinter(io.Discard, lopts)
	if err != nil {
		return nil, []diag.Diagnostic{diag.Errorf(diag.Pos{File: path}, "internal", "%v", err)}
	}
	var project *actionlint.Project
	if opts.ProjectRoot != "" {
		if project, err = actionlint.NewProject(opts.ProjectRoot); err != nil {
			return nil, []diag.Diagnostic{diag.Errorf(diag.Pos{File: path}, "internal", "%v", err)}
		}
	}
	name := path
	if opts.DisplayName != "" {
		name = opts.DisplayName
	}
	errs, err := linter.Lint(path, src, project)
	if err != nil {
		return nil, []diag.Diagnostic{diag.Errorf(diag.Pos{File: path}, "internal", "%v", err)}
	}
	for _, e := range errs {
		if fixedUpstream(e) {
			continue
		}
		d := diag.Diagnostic{
			Pos:      diag.Pos{File: name, Line: e.Line, Col: e.Column},
			Rule:     e.Kind,
			Severity: diag.Error,
			Message:  e.Message,
		}
		if e.Kind == RuleSupport && !opts.Strict {
			d.Severity = diag.Warning
		}
		ds = append(ds, d)
	}
	diag.Sort(ds)
	if ast == nil {
		return nil, ds
	}
	b := builder{file: path, src: src}
	return b.workflow(ast), ds
}

// fixedUpstream drops findings of actionlint v1.7.12 that are wrong for
// today's GitHub and fixed in actionlint after that release: service
// containers gained `entrypoint` and `command` keys.
func fixedUpstream(e *actionlint.Error) bool {
	return e.Kind == "syntax-check" && strings.Contains(e.Message, `for "services" section`) &&
		(strings.HasPrefix(e.Message, `unexpected key "entrypoint"`) || strings.HasPrefix(e.Message, `unexpected key "command"`))
}

func lookPath(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// notText rejects binary input before the YAML parser sees it.
func notText(path string, src []byte) (diag.Diagnostic, bool) {
	if slices.Contains(src[:min(len(src), 8000)], 0) {
		return diag.Errorf(diag.Pos{File: path, Line: 1, Col: 1}, "syntax-check", "%s: not a workflow: the file is binary (it contains NUL bytes)", path), true
	}
	return diag.Diagnostic{}, false
}

// captureRule keeps the syntax tree actionlint built, so the file is parsed
// once for linting and modelling.
type captureRule struct {
	actionlint.RuleBase
	ast **actionlint.Workflow
}

func (r *captureRule) VisitWorkflowPre(w *actionlint.Workflow) error {
	*r.ast = w
	return nil
}

// CheckFiles lints many files with one actionlint linter, which checks
// files in parallel and shares one pool of shellcheck and pyflakes
// processes, as the actionlint CLI does. Files that cannot be read, or are
// not text, are reported in errs.
func CheckFiles(paths []string, opts Options) (ds []diag.Diagnostic, errs []error) {
	var good []string
	for _, p := range paths {
		if err := precheck(p); err != nil {
			errs = append(errs, err)
			continue
		}
		good = append(good, p)
	}
	if len(good) == 0 {
		return nil, errs
	}
	lopts := &actionlint.LinterOptions{
		LogWriter: io.Discard,
		OnRulesCreated: func(rules []actionlint.Rule) []actionlint.Rule {
			return append(rules, newSupportRule(opts))
		},
	}
	if !opts.NoScriptCheck {
		lopts.Shellcheck = lookPath("shellcheck")
		lopts.Pyflakes = lookPath("pyflakes", "pyflakes3")
	}
	linter, err := actionlint.NewLinter(io.Discard, lopts)
	if err != nil {
		return nil, append(errs, err)
	}
	lerrs, err := linter.LintFiles(good, nil)
	if err != nil {
		return nil, append(errs, err)
	}
	for _, e := range lerrs {
		if fixedUpstream(e) {
			continue
		}
		if strings.Contains(e.Message, "exceeded max depth") {
			errs = append(errs, fmt.Errorf("%s:%d:%d: not a workflow: %s", e.Filepath, e.Line, e.Column, e.Message))
			continue
		}
		d := diag.Diagnostic{
			Pos:      diag.Pos{File: e.Filepath, Line: e.Line, Col: e.Column},
			Rule:     e.Kind,
			Severity: diag.Error,
			Message:  e.Message,
		}
		if e.Kind == RuleSupport && !opts.Strict {
			d.Severity = diag.Warning
		}
		ds = append(ds, d)
	}
	diag.Sort(ds)
	return ds, errs
}

// precheck rejects what is not a workflow file before parsing: unreadable,
// too large, empty or binary.
func precheck(path string) error {
	src, err := readFile(path)
	if err != nil {
		return err
	}
	return checkText(path, src)
}

func checkText(path string, src []byte) error {
	if d, bad := notText(path, src); bad {
		return fmt.Errorf("%s", d.Message)
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return fmt.Errorf("%s: not a workflow: the file is empty", path)
	}
	return nil
}

// FindFiles expands paths: a directory gives its *.yml and *.yaml files
// (sorted); a file is taken as is.
func FindFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", p, err)
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", p, err)
		}
		for _, e := range entries {
			n := e.Name()
			if !e.IsDir() && (strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".yaml")) {
				out = append(out, strings.TrimSuffix(p, "/")+"/"+n)
			}
		}
	}
	return out, nil
}
