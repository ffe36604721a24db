// Package lint is the configuration review gate: it reviews the files that
// say how software is built and deployed — GitHub Actions workflows,
// Dockerfiles and Kubernetes manifests — and returns one gate.Report with
// positioned findings and rule IDs.
//
// Run reads as an ordered list of stages:
//
//  1. collect: walk the given paths (or read stdin for "-") and keep the
//     files that are workflows, Dockerfiles or manifests, judged by content
//     (a Dockerfile needs no particular name; a manifest is YAML or JSON
//     whose documents carry apiVersion and kind).
//  2. review: each kind goes to its linter — internal/lint/workflowsec (and
//     the full workflow check through Options.LintWorkflow),
//     internal/lint/dockerfile, internal/lint/kube (all manifests together,
//     so a Service can be matched against every pod template).
//  3. configure: lint.yml turns rules off or changes their severity.
//  4. suppress: `# shipgate:ignore RULE reason` comments drop findings on
//     the next line (and the block below it); a suppression needs a reason.
//  5. report: the verdict is fail on any error, warn on warnings, pass
//     otherwise, skipped when there was nothing to review.
package lint

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/gate"
	"github.com/shipgate/shipgate/internal/lint/dockerfile"
	"github.com/shipgate/shipgate/internal/lint/kube"
	"github.com/shipgate/shipgate/internal/lint/workflowsec"
)

// Kind is what a reviewed file is.
type Kind string

// The kinds of file lint reviews.
const (
	KindWorkflow   Kind = "workflow"
	KindDockerfile Kind = "dockerfile"
	KindManifest   Kind = "kubernetes"
)

// StdinName is the name findings carry for input read from stdin.
const StdinName = "<stdin>"

// MaxFileSize is the largest file reviewed; bigger files are skipped with
// a note.
const MaxFileSize = 8 << 20

// Rule IDs of the gate itself.
const (
	RuleSuppression       = "lint/suppression"
	RuleUnusedSuppression = "lint/unused-suppression"
	RuleSkipped           = "lint/skipped"
)

// Options configure a run.
type Options struct {
	// Config turns rules off or changes severities; nil keeps defaults.
	Config *Config
	// Stdin is read when a path is "-".
	Stdin io.Reader
	// LintWorkflow is the hook for the full workflow check: actionlint's
	// rules and shipgate's support check, provided by internal/workflow.
	// When nil, only the security rules run and a workflow's syntax errors
	// are reported as workflow/syntax.
	LintWorkflow func(path string, src []byte) []diag.Diagnostic
	// Schemas are folders or files of JSON Schemas and CRD manifests for
	// Kubernetes kinds without a built-in schema; without them such
	// objects are skipped with a note.
	Schemas []string
}

// File is one reviewed file.
type File struct {
	Path string `json:"path"`
	Kind Kind   `json:"kind"`
}

// Data is the gate-specific part of the JSON report.
type Data struct {
	Files []File `json:"files"`
	// Rules counts findings per rule after config and suppressions.
	Rules map[string]int `json:"rules"`
	// Suppressed counts findings dropped by shipgate:ignore comments.
	Suppressed int `json:"suppressed"`
	// Objects are the Kubernetes objects reviewed.
	Objects []kube.Object `json:"objects,omitempty"`
}

type input struct {
	path     string
	src      []byte
	kind     Kind
	explicit bool
}

// Run reviews paths (files, folders, or "-" for stdin) and returns the
// report. The error is for input that cannot be read at all (exit 2);
// problems inside files are findings.
func Run(paths []string, opts Options) (*gate.Report, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	// 1. collect
	var (
		inputs []*input
		notes  []diag.Diagnostic
	)
	for _, p := range paths {
		ins, ns, err := collect(p, opts)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, ins...)
		notes = append(notes, ns...)
	}
	// 2. review
	var ds []diag.Diagnostic
	kl := kube.New()
	if err := kl.LoadSchemas(opts.Schemas...); err != nil {
		return nil, err
	}
	for _, in := range inputs {
		switch in.kind {
		case KindDockerfile:
			ds = append(ds, dockerfile.Lint(in.path, in.src)...)
		case KindManifest:
			kl.Add(in.path, in.src)
		case KindWorkflow:
			sec, syntax := workflowsec.Lint(in.path, in.src)
			ds = append(ds, sec...)
			if opts.LintWorkflow != nil {
				ds = append(ds, opts.LintWorkflow(in.path, in.src)...)
			} else {
				ds = append(ds, syntax...)
			}
		}
	}
	ds = append(ds, kl.Finish()...)
	ds = append(ds, notes...)
	// 3. configure
	kept := ds[:0]
	for _, d := range ds {
		if d2, ok := opts.Config.apply(d); ok {
			kept = append(kept, d2)
		}
	}
	ds = kept
	// 4. suppress
	srcs := map[string][]byte{}
	for _, in := range inputs {
		srcs[in.path] = in.src
	}
	ds, suppressed := suppress(ds, srcs, opts.Config)
	diag.Sort(ds)
	// 5. report
	return buildReport(inputs, ds, suppressed, kl.Objects()), nil
}

// collect finds the reviewable files under one path argument.
func collect(p string, opts Options) ([]*input, []diag.Diagnostic, error) {
	if p == "-" {
		if opts.Stdin == nil {
			return nil, nil, fmt.Errorf("no stdin to read for -")
		}
		src, err := io.ReadAll(io.LimitReader(opts.Stdin, MaxFileSize+1))
		if err != nil {
			return nil, nil, fmt.Errorf("reading stdin: %w", err)
		}
		if len(src) > MaxFileSize {
			return nil, nil, fmt.Errorf("stdin is over the %d MiB limit", MaxFileSize>>20)
		}
		in := &input{path: StdinName, src: src, explicit: true}
		in.kind = classify(StdinName, src, true)
		if in.kind == "" {
			return nil, []diag.Diagnostic{skipNote(StdinName, "stdin is not a workflow, Dockerfile or Kubernetes manifest")}, nil
		}
		return []*input{in}, nil, nil
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s: %w", p, errNotExist(err))
	}
	if !fi.IsDir() {
		in, note, err := readInput(p, true)
		if err != nil {
			return nil, nil, err
		}
		if in == nil {
			return nil, []diag.Diagnostic{note}, nil
		}
		return []*input{in}, nil, nil
	}
	var (
		ins   []*input
		notes []diag.Diagnostic
	)
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(path)
		if d.IsDir() {
			name := d.Name()
			if path != p && (name == ".git" || name == "node_modules" || name == "vendor" || name == ".shipgate" ||
				(strings.HasPrefix(name, ".") && name != ".github" && name != "." && name != "..")) {
				return filepath.SkipDir
			}
			if path != p && opts.Config.ignored(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !candidate(path) || opts.Config.ignored(rel) {
			return nil
		}
		in, note, err := readInput(path, false)
		if err != nil {
			return err
		}
		if in != nil {
			ins = append(ins, in)
		} else if note.Rule != "" {
			notes = append(notes, note)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("walking %s: %w", p, err)
	}
	return ins, notes, nil
}

func errNotExist(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

func skipNote(file, msg string) diag.Diagnostic {
	return diag.Diagnostic{Pos: diag.Pos{File: file}, Rule: RuleSkipped, Severity: diag.Info, Message: msg}
}

// candidate reports whether a file found in a folder walk is worth
// opening: YAML and JSON files, anything named like a Dockerfile or
// Containerfile, and files without an extension (sniffed for FROM).
func candidate(path string) bool {
	base := strings.ToLower(filepath.Base(path))
	ext := filepath.Ext(base)
	switch {
	case ext == ".yml" || ext == ".yaml" || ext == ".json":
		return true
	case strings.Contains(base, "dockerfile") || strings.Contains(base, "containerfile"):
		return !slices.Contains([]string{".md", ".txt", ".go", ".sh", ".py", ".rb", ".js", ".ts", ".html", ".dockerignore"}, ext) &&
			!strings.HasSuffix(base, ".dockerignore")
	case ext == "":
		return true
	}
	return false
}

// readInput reads and classifies one file. A file that is none of the
// kinds gives a nil input and, when it was named explicitly, a note.
func readInput(path string, explicit bool) (*input, diag.Diagnostic, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, diag.Diagnostic{}, fmt.Errorf("cannot read %s: %w", path, errNotExist(err))
	}
	if !explicit && filepath.Ext(path) == "" && !strings.Contains(strings.ToLower(filepath.Base(path)), "file") {
		// An extension-less file found in a walk: open it only when its
		// head looks like a Dockerfile (saves reading binaries and logs).
		if !sniffDockerfile(path) {
			return nil, diag.Diagnostic{}, nil
		}
	}
	if fi.Size() > MaxFileSize {
		return nil, skipNote(path, fmt.Sprintf("skipped: %d bytes is over the %d MiB limit", fi.Size(), MaxFileSize>>20)), nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, diag.Diagnostic{}, fmt.Errorf("cannot read %s: %w", path, errNotExist(err))
	}
	kind := classify(path, src, explicit)
	if kind == KindManifest && helmTemplate(path, src) {
		return nil, skipNote(path, "skipped: a Helm chart template, not YAML yet; render it and lint the output: helm template CHART | shipgate lint -"), nil
	}
	if kind == "" {
		if explicit {
			return nil, skipNote(path, "skipped: not a workflow, Dockerfile or Kubernetes manifest"), nil
		}
		return nil, diag.Diagnostic{}, nil
	}
	return &input{path: path, src: src, kind: kind, explicit: explicit}, diag.Diagnostic{}, nil
}

// classify decides what a file is, by content first and name second.
func classify(path string, src []byte, explicit bool) Kind {
	if bytes.IndexByte(src[:min(len(src), 8000)], 0) >= 0 {
		return "" // binary
	}
	base := strings.ToLower(filepath.Base(path))
	ext := filepath.Ext(base)
	slash := filepath.ToSlash(path)
	named := base == "dockerfile" || base == "containerfile" || strings.HasSuffix(base, ".dockerfile") ||
		strings.HasSuffix(base, ".containerfile") || strings.HasPrefix(base, "dockerfile.") || strings.HasPrefix(base, "containerfile.")
	switch {
	case workflowsec.Looks(src) || (strings.Contains(slash, ".github/workflows/") && (ext == ".yml" || ext == ".yaml")):
		return KindWorkflow
	case kube.Looks(src):
		return KindManifest
	case named:
		return KindDockerfile
	case ext != ".yml" && ext != ".yaml" && ext != ".json" && dockerfile.Looks(src):
		return KindDockerfile
	}
	return ""
}

// AllRules lists the rule table of every linter, for SARIF and docs.
func AllRules() []diag.Rule {
	var out []diag.Rule
	out = append(out, workflowsec.DiagRules()...)
	out = append(out, dockerfile.DiagRules()...)
	out = append(out, kube.DiagRules()...)
	out = append(out,
		diag.Rule{ID: RuleSuppression, Description: "a shipgate:ignore comment without a reason (it does not suppress)"},
		diag.Rule{ID: RuleUnusedSuppression, Description: "a shipgate:ignore comment that matched no finding"},
		diag.Rule{ID: RuleSkipped, Description: "a named file that lint does not review"},
	)
	return out
}

func knownRule(id string) bool {
	return slices.ContainsFunc(AllRules(), func(r diag.Rule) bool { return r.ID == id })
}

func buildReport(inputs []*input, ds []diag.Diagnostic, suppressed int, objects []kube.Object) *gate.Report {
	r := &gate.Report{Gate: "lint", Rules: AllRules()}
	data := &Data{Rules: map[string]int{}, Suppressed: suppressed, Objects: objects}
	counts := map[Kind]int{}
	for _, in := range inputs {
		data.Files = append(data.Files, File{Path: in.path, Kind: in.kind})
		counts[in.kind]++
	}
	slices.SortFunc(data.Files, func(a, b File) int { return cmp.Compare(a.Path, b.Path) })
	for _, d := range ds {
		data.Rules[d.Rule]++
		r.Add(gate.Finding{Diagnostic: d, Fingerprint: fingerprint(d)})
	}
	errs, warns, infos := diag.Count(ds)
	r.Metrics = []gate.Metric{
		{Name: "files", Value: float64(len(inputs))},
		{Name: "errors", Value: float64(errs)},
		{Name: "warnings", Value: float64(warns)},
		{Name: "notes", Value: float64(infos)},
		{Name: "suppressed", Value: float64(suppressed)},
	}
	r.Data = data
	what := fmt.Sprintf("%s (%s, %s, %s)", plural(len(inputs), "file"), plural(counts[KindWorkflow], "workflow"), plural(counts[KindDockerfile], "Dockerfile"), plural(counts[KindManifest], "manifest file"))
	switch {
	case len(inputs) == 0:
		r.Verdict, r.Reason = gate.Skipped, "no workflows, Dockerfiles or Kubernetes manifests found"
	case errs > 0:
		r.Verdict = gate.Fail
	case warns > 0:
		r.Verdict = gate.Warn
	default:
		r.Verdict = gate.Pass
	}
	if len(inputs) > 0 {
		r.Reason = fmt.Sprintf("%s: %s, %s, %s, %d suppressed", what, plural(errs, "error"), plural(warns, "warning"), plural(infos, "note"), suppressed)
	}
	r.Details = rulesTable(data.Rules)
	// JUnit: one case per reviewed file, failing with its error findings.
	failures := map[string][]string{}
	for _, d := range ds {
		if d.Severity == diag.Error {
			failures[d.Pos.File] = append(failures[d.Pos.File], d.String())
		}
	}
	for _, f := range data.Files {
		r.Tests = append(r.Tests, gate.TestCase{Name: f.Path, Class: "lint." + string(f.Kind), Failure: strings.Join(failures[f.Path], "\n")})
	}
	return r
}

func rulesTable(counts map[string]int) string {
	if len(counts) == 0 {
		return ""
	}
	ids := make([]string, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	b.WriteString("| rule | findings |\n|---|---|\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "| `%s` | %d |\n", id, counts[id])
	}
	return b.String()
}

// fingerprint identifies a finding across runs: rule, file and message,
// not the line, so it survives edits above it.
func fingerprint(d diag.Diagnostic) string {
	h := sha256.Sum256([]byte(d.Rule + "\x00" + d.Pos.File + "\x00" + d.Message))
	return hex.EncodeToString(h[:8])
}

func sniffDockerfile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	return dockerfile.Looks(head[:n])
}

// helmTemplate reports whether a file is a template of a Helm chart: it
// uses {{ }} and sits in a templates folder under a Chart.yaml.
func helmTemplate(path string, src []byte) bool {
	if !bytes.Contains(src, []byte("{{")) {
		return false
	}
	for dir := filepath.Dir(path); ; {
		if filepath.Base(dir) == "templates" {
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "Chart.yaml")); err == nil {
				return true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
