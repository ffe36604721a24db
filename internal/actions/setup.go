package actions

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// toolchain describes how a setup-* shim finds and versions a tool.
type toolchain struct {
	action  string   // for messages
	input   string   // the version input
	file    string   // the version-file input
	names   []string // programs to look for, in order
	version func(ctx context.Context, path string) (string, error)
	output  string // the output naming the version found
}

func which(e *Env, names ...string) (string, error) {
	path := e.Environ["PATH"]
	if path == "" {
		path = os.Getenv("PATH")
	}
	for _, n := range names {
		for _, dir := range filepath.SplitList(path) {
			p := filepath.Join(dir, n)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s not found in PATH", strings.Join(names, " or "))
}

func output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

var versionRE = regexp.MustCompile(`\d+(\.\d+)*`)

// VersionMatches reports whether installed satisfies the requested version
// as setup-* actions read it: "1.22" and "1.22.x" match any 1.22.*, "20"
// any 20.*, semver ranges ("^1.2", ">=3.10") are ranges, and "stable",
// "latest", "lts/*", "*" match anything installed.
func VersionMatches(requested, installed string) bool {
	req := strings.TrimPrefix(strings.TrimSpace(requested), "v")
	switch strings.ToLower(req) {
	case "", "*", "x", "stable", "oldstable", "latest", "lts/*", "node", "current":
		return true
	}
	iv := versionRE.FindString(installed)
	if iv == "" {
		return false
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimSuffix(req, ".x"), ".*"), ".")
	numeric := true
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			numeric = false
		}
	}
	if numeric {
		have := strings.Split(iv, ".")
		for i, p := range parts {
			if i >= len(have) {
				return false
			}
			a, _ := strconv.Atoi(p)
			b, _ := strconv.Atoi(have[i])
			if a != b {
				return false
			}
		}
		return true
	}
	c, err := semver.NewConstraint(req)
	if err != nil {
		return false
	}
	v, err := semver.NewVersion(iv)
	return err == nil && c.Check(v)
}

func (t toolchain) run(ctx context.Context, e *Env) (*Result, error) {
	want := e.Input(t.input, "")
	if want == "" && t.file != "" {
		if f := e.Input(t.file, ""); f != "" {
			v, err := versionFromFile(filepath.Join(e.Workspace, f))
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %v", t.action, t.file, err)
			}
			want = v
		}
	}
	path, err := which(e, t.names...)
	if err != nil {
		return nil, fmt.Errorf("%s: %s %s is requested but %v; install it on this host (nothing is downloaded)", t.action, t.names[0], orAny(want), err)
	}
	have, err := t.version(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot tell the version of %s: %v", t.action, path, err)
	}
	for _, w := range lines(want) {
		if !VersionMatches(w, have) {
			return nil, fmt.Errorf("%s: %s %s is requested but this host has %s (%s); install it or change the version (nothing is downloaded)", t.action, t.names[0], w, have, path)
		}
	}
	e.Log("Using %s %s from %s", t.names[0], have, path)
	return &Result{Outputs: map[string]string{t.output: have, "cache-hit": "false"}, Path: []string{filepath.Dir(path)}}, nil
}

func orAny(v string) string {
	if v == "" {
		return "(any version)"
	}
	return v
}

// versionFromFile reads go.mod's go line, .nvmrc, .python-version or
// .tool-versions style files.
func versionFromFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, "go "); ok && filepath.Base(path) == "go.mod" {
			return strings.TrimSpace(v), nil
		}
		if filepath.Base(path) != "go.mod" && l != "" && !strings.HasPrefix(l, "#") {
			f := strings.Fields(l)
			return f[len(f)-1], nil
		}
	}
	return "", fmt.Errorf("no version found")
}

func firstVersion(ctx context.Context, path string, args ...string) (string, error) {
	out, err := output(ctx, path, args...)
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	v := versionRE.FindString(out)
	if v == "" {
		return "", fmt.Errorf("no version in %q", out)
	}
	return v, nil
}

func setupGo(ctx context.Context, e *Env) (*Result, error) {
	return toolchain{action: "actions/setup-go", input: "go-version", file: "go-version-file", names: []string{"go"}, output: "go-version",
		version: func(ctx context.Context, p string) (string, error) { return firstVersion(ctx, p, "env", "GOVERSION") }}.run(ctx, e)
}

func setupNode(ctx context.Context, e *Env) (*Result, error) {
	return toolchain{action: "actions/setup-node", input: "node-version", file: "node-version-file", names: []string{"node"}, output: "node-version",
		version: func(ctx context.Context, p string) (string, error) { return firstVersion(ctx, p, "--version") }}.run(ctx, e)
}

func setupPython(ctx context.Context, e *Env) (*Result, error) {
	r, err := toolchain{action: "actions/setup-python", input: "python-version", file: "python-version-file", names: []string{"python3", "python"}, output: "python-version",
		version: func(ctx context.Context, p string) (string, error) { return firstVersion(ctx, p, "--version") }}.run(ctx, e)
	if err == nil {
		if p, werr := which(e, "python3", "python"); werr == nil {
			r.Outputs["python-path"] = p
		}
	}
	return r, err
}

// setupBeam checks Erlang/OTP (otp-version), Elixir (elixir-version),
// rebar3 (rebar3-version) and Gleam (gleam-version), each when requested.
func setupBeam(ctx context.Context, e *Env) (*Result, error) {
	res := &Result{Outputs: map[string]string{}}
	otp := toolchain{action: "erlef/setup-beam", input: "otp-version", names: []string{"erl"}, output: "otp-version",
		version: func(ctx context.Context, p string) (string, error) {
			out, err := output(ctx, p, "-noshell", "-eval",
				`R = erlang:system_info(otp_release), F = filename:join([code:root_dir(), "releases", R, "OTP_VERSION"]), V = case file:read_file(F) of {ok, B} -> string:trim(binary_to_list(B)); _ -> R end, io:format("~s", [V]), halt().`)
			if err != nil {
				return "", fmt.Errorf("%v: %s", err, out)
			}
			return strings.TrimSpace(out), nil
		}}
	tools := []toolchain{otp,
		{action: "erlef/setup-beam", input: "elixir-version", names: []string{"elixir"}, output: "elixir-version",
			version: func(ctx context.Context, p string) (string, error) {
				out, err := output(ctx, p, "--version")
				if err != nil {
					return "", fmt.Errorf("%v: %s", err, out)
				}
				if i := strings.Index(out, "Elixir "); i >= 0 {
					return versionRE.FindString(out[i:]), nil
				}
				return versionRE.FindString(out), nil
			}},
		{action: "erlef/setup-beam", input: "rebar3-version", names: []string{"rebar3"}, output: "rebar3-version",
			version: func(ctx context.Context, p string) (string, error) { return firstVersion(ctx, p, "version") }},
		{action: "erlef/setup-beam", input: "gleam-version", names: []string{"gleam"}, output: "gleam-version",
			version: func(ctx context.Context, p string) (string, error) { return firstVersion(ctx, p, "--version") }},
	}
	for _, t := range tools {
		if e.Input(t.input, "") == "" {
			continue
		}
		r, err := t.run(ctx, e)
		if err != nil {
			return nil, err
		}
		for k, v := range r.Outputs {
			if k != "cache-hit" {
				res.Outputs[k] = v
			}
		}
		res.Path = append(res.Path, r.Path...)
	}
	if len(res.Outputs) == 0 {
		return nil, fmt.Errorf("erlef/setup-beam: give at least otp-version (and elixir-version, rebar3-version or gleam-version)")
	}
	return res, nil
}

// shipgateGate runs `shipgate <gate> [command] [args...] --<input> <value>...`
// with this same binary: every `with:` input other than command and args
// becomes a flag, in sorted order.
func shipgateGate(gate string) Func {
	return func(ctx context.Context, e *Env) (*Result, error) {
		self := e.Self
		if self == "" {
			var err error
			if self, err = os.Executable(); err != nil {
				return nil, fmt.Errorf("shipgate/%s: cannot find the shipgate binary: %v", gate, err)
			}
		}
		argv := GateArgv(self, gate, e.Inputs)
		code, err := e.Exec(ctx, argv, "")
		if err != nil {
			return nil, fmt.Errorf("shipgate/%s: %v", gate, err)
		}
		return &Result{Outputs: map[string]string{"exit-code": strconv.Itoa(code)}, Failed: code != 0}, nil
	}
}
