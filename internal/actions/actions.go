// Package actions holds the built-in `uses:` actions. Nothing is ever
// downloaded: a reference resolves to a Go function here, to a local
// composite action (`uses: ./path`, run by the engine from its action.yml),
// or to an error that names it and lists what is built in.
//
// Built in: actions/checkout, actions/upload-artifact and
// actions/download-artifact (v3 and v4), actions/cache, the toolchain shims
// actions/setup-go, actions/setup-node, actions/setup-python and
// erlef/setup-beam (they check the requested version is installed on the
// host and put it on PATH), and shipgate/<gate>@v1, which runs this same
// binary as `shipgate <gate> ...`.
package actions

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/shipgate/shipgate/internal/store"
)

// Env is what a built-in action gets from the engine.
type Env struct {
	// Workspace is GITHUB_WORKSPACE (the repository).
	Workspace string
	// StateDir is the .shipgate directory (artifacts, cache).
	StateDir string
	// TempDir is RUNNER_TEMP.
	TempDir string
	// RunID is this run; ArtifactRuns are the runs whose artifacts a
	// download sees (this one first, then a re-run's original).
	RunID        int64
	ArtifactRuns []int64
	// Runs stores artifact records; nil keeps artifacts on disk only.
	Runs *store.Runs
	// Inputs are the evaluated `with:` values, by name.
	Inputs map[string]string
	// Environ is the step's environment (PATH for finding tools).
	Environ map[string]string
	// Log writes one line to the step's log (masked by the engine).
	Log func(format string, args ...any)
	// Exec runs a program as a step process through the executor and
	// returns its exit code (output goes to the step's log).
	Exec func(ctx context.Context, argv []string, dir string) (int, error)
	// Self is the path of the shipgate binary (os.Executable).
	Self string
	// HashFiles is the engine's hashFiles().
	HashFiles func(patterns []string) (string, error)
}

// Input returns a `with:` value or def when it is missing or empty.
func (e *Env) Input(name, def string) string {
	if v, ok := e.Inputs[name]; ok && v != "" {
		return v
	}
	return def
}

// Result is what a built-in action gives back.
type Result struct {
	// Outputs become steps.<id>.outputs.
	Outputs map[string]string
	// Env and Path are applied to later steps as GITHUB_ENV and GITHUB_PATH.
	Env  map[string]string
	Path []string
	// Post, when set, runs when the job ends (actions/cache saves then).
	Post func(ctx context.Context, jobSucceeded bool) error
	// Failed marks the step failed without an error (a non-zero exit of
	// shipgate <gate>); the message was already logged.
	Failed bool
}

// Func is one built-in action.
type Func func(ctx context.Context, e *Env) (*Result, error)

var builtins = map[string]Func{
	"actions/checkout":          checkout,
	"actions/upload-artifact":   uploadArtifact,
	"actions/download-artifact": downloadArtifact,
	"actions/cache":             cache,
	"actions/cache/restore":     cacheRestore,
	"actions/cache/save":        cacheSave,
	"actions/setup-go":          setupGo,
	"actions/setup-node":        setupNode,
	"actions/setup-python":      setupPython,
	"erlef/setup-beam":          setupBeam,
}

// Builtins lists the built-in references, sorted, for error messages.
func Builtins() []string {
	var out []string
	for k := range builtins {
		out = append(out, k+"@*")
	}
	out = append(out, "shipgate/<gate>@v1", "./local/composite-action")
	slices.Sort(out)
	return out
}

// IsLocal reports whether ref is a local action path.
func IsLocal(ref string) bool { return strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") }

// Lookup resolves a remote-style reference ("owner/repo@ref") to a
// built-in. The version after @ is accepted as given: the built-in
// implements the inputs of the versions listed in the package doc.
func Lookup(ref string) (Func, error) {
	name, _, _ := strings.Cut(ref, "@")
	name = strings.TrimSuffix(name, "/")
	if f, ok := builtins[strings.ToLower(name)]; ok {
		return f, nil
	}
	if gate, ok := strings.CutPrefix(name, "shipgate/"); ok && gate != "" && !strings.Contains(gate, "/") {
		return shipgateGate(gate), nil
	}
	return nil, fmt.Errorf("action %q is not built in and nothing is downloaded; built-in actions: %s", ref, strings.Join(Builtins(), ", "))
}

// Known is workflow.Options.KnownAction: whether ref is built in (or local).
func Known(ref string) (bool, []string) {
	if IsLocal(ref) {
		return true, nil
	}
	_, err := Lookup(ref)
	return err == nil, Builtins()
}
