// Package dockerfile reads the subset of Dockerfiles that can be built
// without running anything: FROM (one stage), ARG, COPY, ADD (local files
// and tarballs), ENV, WORKDIR, USER, ENTRYPOINT, CMD, EXPOSE and LABEL. It
// turns such a file into image.BuildOptions, so `shipgate image build` and
// the built-in docker/build-push-action build it without a daemon.
//
// Parsing and instruction shapes are buildkit's own
// (github.com/moby/buildkit/frontend/dockerfile/parser and instructions),
// variables are expanded with buildkit's shell lexer; what this package
// adds is the subset check. RUN needs a container runtime: it is an error
// naming its line, as is every other instruction outside the subset; all
// such problems are reported in one go, each as FILE:LINE:COL.
package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/shipgate/shipgate/internal/image"
)

// Error is one problem with a position.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg) }

// Errors is every problem of a Dockerfile, in line order.
type Errors []*Error

func (es Errors) Error() string {
	var parts []string
	for _, e := range es {
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "\n")
}

// Options say where a Dockerfile's inputs are.
type Options struct {
	// Context is the build context folder COPY and ADD read from.
	Context string
	// BuildArgs override ARG defaults (docker build --build-arg).
	BuildArgs map[string]string
	// Bases maps FROM image names (as written, after ARG expansion) to
	// local images: "oci:DIR", "docker-archive:FILE.tar" or a rootfs
	// folder. "scratch" needs no entry. A FROM that is already a local
	// reference ("oci:...", "docker-archive:...") needs none either.
	Bases map[string]string
	// Platform is the target platform (os/arch).
	Platform string
}

// Instructions the subset accepts.
var supported = []string{"from", "arg", "copy", "add", "env", "workdir", "user", "entrypoint", "cmd", "expose", "label"}

// Parse reads a Dockerfile named file and turns it into build options.
// Every problem is reported (as Errors), not only the first.
func Parse(file string, src []byte, o Options) (image.BuildOptions, error) {
	var bo image.BuildOptions
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		line := 1
		var le *parser.LocationError
		if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
			line = le.Locations[0][0].Start.Line
		}
		if line < 1 {
			line = 1
		}
		return bo, Errors{{File: file, Line: line, Col: 1, Msg: strings.TrimSpace(stripLocation(err.Error()))}}
	}
	var (
		errs    Errors
		lex     = shell.NewLex(res.EscapeToken)
		args    = map[string]string{} // ARG values in scope
		env     []string              // ENV so far, KEY=VALUE
		froms   int
		workdir = "/"
	)
	bad := func(n *parser.Node, format string, a ...any) {
		errs = append(errs, &Error{File: file, Line: n.StartLine, Col: 1, Msg: fmt.Sprintf(format, a...)})
	}
	vars := func() shell.EnvGetter {
		all := []string{}
		keys := make([]string, 0, len(args))
		for k := range args {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			all = append(all, k+"="+args[k])
		}
		// ENV wins over ARG, as in docker build.
		all = append(all, env...)
		return shell.EnvsFromSlice(all)
	}
	expand := func(word string) (string, error) {
		out, _, err := lex.ProcessWord(word, vars())
		return out, err
	}
	for _, n := range res.AST.Children {
		kw := strings.ToLower(n.Value)
		if kw == "run" {
			bad(n, "RUN needs a container runtime, which shipgate image build does not use; build the files the RUN makes beforehand and COPY them (%s)", oneLine(n.Original))
			continue
		}
		if !contains(supported, kw) {
			bad(n, "%s is not in the subset shipgate builds without a daemon (%s)", strings.ToUpper(kw), strings.Join(upper(supported), ", "))
			continue
		}
		inst, err := instructions.ParseInstruction(n)
		if err != nil {
			bad(n, "%s", stripLocation(err.Error()))
			continue
		}
		if ex, ok := inst.(interface {
			Expand(instructions.SingleWordExpander) error
		}); ok && kw != "arg" {
			if err := ex.Expand(expand); err != nil {
				bad(n, "%s", err)
				continue
			}
		}
		switch c := inst.(type) {
		case *instructions.Stage:
			froms++
			if froms > 1 {
				bad(n, "a second FROM: multi-stage builds need RUN in practice and are not in the subset; build one stage")
				continue
			}
			base, err := expand(c.BaseName)
			if err != nil {
				bad(n, "%s", err)
				continue
			}
			if c.Platform != "" && o.Platform == "" {
				bo.Platform, _ = expand(c.Platform)
			}
			switch {
			case base == "scratch":
				bo.Base = "scratch"
			case o.Bases[base] != "":
				bo.Base = o.Bases[base]
			case strings.HasPrefix(base, "oci:"), strings.HasPrefix(base, "docker-archive:"), strings.HasPrefix(base, "rootfs:"):
				bo.Base = base
			default:
				bad(n, "FROM %s: no local image for it; map it with --base-image %s=oci:DIR (or docker-archive:FILE.tar, or a rootfs folder): shipgate pulls nothing", base, base)
			}
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				v := ""
				if kv.Value != nil {
					ev, err := expand(*kv.Value)
					if err != nil {
						bad(n, "%s", err)
					}
					v = ev
				}
				if bv, ok := o.BuildArgs[kv.Key]; ok {
					v = bv
				}
				args[kv.Key] = v
			}
		case *instructions.CopyCommand:
			if froms == 0 {
				bad(n, "COPY before FROM")
				continue
			}
			if c.From != "" {
				bad(n, "COPY --from=%s: multi-stage builds are not in the subset", c.From)
				continue
			}
			if c.Chmod != "" || len(c.ExcludePatterns) > 0 || c.Parents {
				bad(n, "COPY --chmod, --exclude and --parents are not in the subset")
				continue
			}
			if len(c.SourceContents) > 0 {
				bad(n, "COPY with a heredoc is not in the subset")
				continue
			}
			spec, err := copySpec(o.Context, workdir, c.SourcePaths, c.DestPath, c.Chown, true)
			if err != nil {
				bad(n, "%s", err)
				continue
			}
			spec.CreatedBy = oneLine(n.Original)
			bo.Layers = append(bo.Layers, spec)
		case *instructions.AddCommand:
			if froms == 0 {
				bad(n, "ADD before FROM")
				continue
			}
			if c.Chmod != "" || len(c.ExcludePatterns) > 0 || c.Checksum != "" || (c.Unpack != nil && !*c.Unpack) {
				bad(n, "ADD --chmod, --exclude, --checksum and --unpack=false are not in the subset")
				continue
			}
			if len(c.SourceContents) > 0 {
				bad(n, "ADD with a heredoc is not in the subset")
				continue
			}
			remote := false
			for _, s := range c.SourcePaths {
				if strings.Contains(s, "://") || strings.HasPrefix(s, "git@") {
					bad(n, "ADD %s: remote sources would be downloaded; shipgate builds from local files only", s)
					remote = true
				}
			}
			if remote {
				continue
			}
			spec, err := copySpec(o.Context, workdir, c.SourcePaths, c.DestPath, c.Chown, false)
			if err != nil {
				bad(n, "%s", err)
				continue
			}
			spec.CreatedBy = oneLine(n.Original)
			bo.Layers = append(bo.Layers, spec)
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				e := kv.Key + "=" + kv.Value
				env = setEnv(env, e)
				bo.Env = setEnv(bo.Env, e)
			}
		case *instructions.WorkdirCommand:
			p := c.Path
			if !path.IsAbs(p) {
				p = path.Join(workdir, p)
			}
			workdir = path.Clean(p)
			bo.Workdir = workdir
		case *instructions.UserCommand:
			bo.User = c.User
		case *instructions.EntrypointCommand:
			bo.Entrypoint = cmdLine(c.ShellDependantCmdLine)
		case *instructions.CmdCommand:
			bo.Cmd = cmdLine(c.ShellDependantCmdLine)
		case *instructions.ExposeCommand:
			for _, p := range c.Ports {
				for _, w := range strings.Fields(p) {
					num, proto, _ := strings.Cut(w, "/")
					if n2, err := strconv.Atoi(num); err != nil || n2 < 1 || n2 > 65535 {
						bad(n, "EXPOSE %s: want PORT[/tcp|udp|sctp]", w)
						continue
					}
					_ = proto
					bo.ExposedPorts = append(bo.ExposedPorts, w)
				}
			}
		case *instructions.LabelCommand:
			if bo.Labels == nil {
				bo.Labels = map[string]string{}
			}
			for _, kv := range c.Labels {
				bo.Labels[kv.Key] = kv.Value
			}
		}
	}
	if froms == 0 && len(errs) == 0 {
		errs = append(errs, &Error{File: file, Line: 1, Col: 1, Msg: "no FROM instruction"})
	}
	if o.Platform != "" {
		bo.Platform = o.Platform
	}
	if len(errs) > 0 {
		return bo, errs
	}
	return bo, nil
}

// copySpec turns COPY/ADD sources and a destination into a layer.
func copySpec(ctxDir, workdir string, srcs []string, dest, chown string, raw bool) (image.LayerSpec, error) {
	var spec image.LayerSpec
	if !path.IsAbs(dest) {
		d := path.Join(workdir, dest)
		if strings.HasSuffix(dest, "/") || dest == "." {
			d += "/"
		}
		dest = d
	}
	uid, gid, err := parseChown(chown)
	if err != nil {
		return spec, err
	}
	var paths []string
	for _, s := range srcs {
		rel := filepath.FromSlash(path.Clean("/" + s))[1:]
		if rel == "" {
			rel = "."
		}
		full := filepath.Join(ctxDir, rel)
		matches, err := filepath.Glob(full)
		if err != nil || len(matches) == 0 {
			return spec, fmt.Errorf("%s: not found in the build context %s", s, ctxDir)
		}
		sort.Strings(matches)
		paths = append(paths, matches...)
	}
	if len(paths) > 1 && !strings.HasSuffix(dest, "/") {
		return spec, fmt.Errorf("with several sources the destination %s must end with /", dest)
	}
	for i, p := range paths {
		ls := image.LayerSpec{Src: p, Dest: dest, Raw: raw, UID: uid, GID: gid}
		if i == 0 {
			spec = ls
		} else {
			spec.More = append(spec.More, ls)
		}
	}
	return spec, nil
}

// parseChown accepts numeric UID[:GID]; names would need the base's
// /etc/passwd.
func parseChown(s string) (int, int, error) {
	if s == "" {
		return 0, 0, nil
	}
	u, g, ok := strings.Cut(s, ":")
	uid, err := strconv.Atoi(u)
	if err != nil || uid < 0 {
		return 0, 0, fmt.Errorf("--chown=%s: only numeric UID[:GID] is in the subset", s)
	}
	gid := uid
	if ok {
		if gid, err = strconv.Atoi(g); err != nil || gid < 0 {
			return 0, 0, fmt.Errorf("--chown=%s: only numeric UID[:GID] is in the subset", s)
		}
	}
	return uid, gid, nil
}

func cmdLine(c instructions.ShellDependantCmdLine) []string {
	if c.PrependShell {
		return []string{"/bin/sh", "-c", strings.Join(c.CmdLine, " ")}
	}
	if c.CmdLine == nil {
		return []string{}
	}
	return c.CmdLine
}

func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func upper(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.ToUpper(v)
	}
	return out
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// stripLocation drops buildkit's own "dockerfile parse error on line N:"
// prefix (we print FILE:LINE:COL ourselves).
func stripLocation(s string) string {
	if i := strings.Index(s, "line "); i >= 0 && strings.HasPrefix(s, "dockerfile parse error") {
		if j := strings.Index(s[i:], ": "); j >= 0 {
			return s[i+j+2:]
		}
	}
	return s
}

// BuildFile reads the Dockerfile at path and builds it with every entry
// stamped t (see image.SourceDateEpoch); o.Context defaults to the
// Dockerfile's folder. The engine's docker/build-push-action calls this,
// then image.Write for its outputs.
func BuildFile(path string, o Options, t time.Time) (v1.Image, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if o.Context == "" {
		o.Context = filepath.Dir(path)
	}
	bo, err := Parse(path, src, o)
	if err != nil {
		return nil, err
	}
	bo.Time = t
	return image.Build(bo)
}
