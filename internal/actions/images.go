package actions

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The image actions seen in real pipelines (docker/build-push-action,
// aquasecurity/trivy-action, anchore/sbom-action, anchore/scan-action,
// github/codeql-action/upload-sarif) run `shipgate image ...` and
// `shipgate sbom`, the same code as the commands: one implementation, no
// daemon, nothing pulled or pushed. Images built in a workspace are kept as
// docker-archive tarballs under .shipgate/images, named after their first
// tag, so a later step's `image-ref: app:1.0` (or a Dockerfile's FROM app:1.0)
// finds them.
func init() {
	builtins["docker/setup-buildx-action"] = setupBuildx
	builtins["docker/build-push-action"] = buildPush
	builtins["aquasecurity/trivy-action"] = trivy
	builtins["anchore/sbom-action"] = anchoreSBOM
	builtins["anchore/scan-action"] = anchoreScan
	builtins["github/codeql-action/upload-sarif"] = uploadSARIF
}

func setupBuildx(ctx context.Context, e *Env) (*Result, error) {
	e.Log("shipgate builds images without buildx or a daemon: nothing to set up")
	return &Result{Outputs: map[string]string{"name": "shipgate", "driver": "shipgate"}}, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func imagesDir(e *Env) string { return filepath.Join(e.StateDir, "images") }

// imagePath is where an image tagged ref is kept.
func imagePath(e *Env, ref string) string {
	return filepath.Join(imagesDir(e), unsafeName.ReplaceAllString(ref, "_")+".tar")
}

// resolveImage turns an image reference into something `shipgate image`
// reads: an image built earlier in this workspace, or a path as given.
func resolveImage(e *Env, ref string) string {
	if p := imagePath(e, ref); fileExists(p) {
		return "docker-archive:" + p
	}
	if !strings.Contains(ref, ":") || strings.HasPrefix(ref, "oci:") || strings.HasPrefix(ref, "docker-archive:") {
		return ref
	}
	if fileExists(filepath.Join(e.Workspace, ref)) {
		return filepath.Join(e.Workspace, ref)
	}
	return ref
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// list splits a multi-line or comma-separated input.
func list(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (e *Env) self() (string, error) {
	if e.Self != "" {
		return e.Self, nil
	}
	return os.Executable()
}

// runShipgate runs `shipgate args...` as the step's process.
func runShipgate(ctx context.Context, e *Env, action string, args ...string) (int, error) {
	self, err := e.self()
	if err != nil {
		return 0, fmt.Errorf("%s: cannot find the shipgate binary: %v", action, err)
	}
	e.Log("shipgate %s", strings.Join(args, " "))
	code, err := e.Exec(ctx, append([]string{self}, args...), "")
	if err != nil {
		return 0, fmt.Errorf("%s: %v", action, err)
	}
	return code, nil
}

func inWorkspace(e *Env, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.Workspace, p)
}

// buildPush is docker/build-push-action for Dockerfiles of FROM, COPY, ADD,
// ENV, WORKDIR, USER, ENTRYPOINT, CMD, EXPOSE and LABEL.
func buildPush(ctx context.Context, e *Env) (*Result, error) {
	const name = "docker/build-push-action"
	if e.Input("push", "false") == "true" {
		return nil, fmt.Errorf("%s: push: true needs a registry; shipgate builds images offline (use load: true or outputs: type=docker,dest=FILE)", name)
	}
	if p := list(e.Input("platforms", "")); len(p) > 1 {
		return nil, fmt.Errorf("%s: %d platforms asked; shipgate builds one platform at a time", name, len(p))
	}
	buildCtx := inWorkspace(e, e.Input("context", "."))
	file := inWorkspace(e, e.Input("file", filepath.Join(e.Input("context", "."), "Dockerfile")))
	tags := list(e.Input("tags", ""))
	output := ""
	for _, o := range list(strings.ReplaceAll(e.Input("outputs", ""), "\n", ",")) {
		k, v, _ := strings.Cut(o, "=")
		switch {
		case k == "type" && (v == "docker" || v == "oci" || v == "tar"):
			if v == "oci" {
				output = "oci:"
			} else {
				output = "docker-archive:"
			}
		case k == "dest" && output != "":
			output += inWorkspace(e, v)
		case k == "type":
			return nil, fmt.Errorf("%s: outputs type=%s is not supported (docker, oci and tar are)", name, v)
		}
	}
	if output == "" || output == "oci:" || output == "docker-archive:" {
		ref := "image"
		if len(tags) > 0 {
			ref = tags[0]
		}
		if err := os.MkdirAll(imagesDir(e), 0o755); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		output = "docker-archive:" + imagePath(e, ref)
	}
	args := []string{"image", "build", "--file", file, "--context", buildCtx, "--output", output}
	for _, t := range tags {
		args = append(args, "--tag", t)
	}
	for _, a := range list(e.Input("build-args", "")) {
		args = append(args, "--build-arg", a)
	}
	for _, l := range list(e.Input("labels", "")) {
		args = append(args, "--label", l)
	}
	if p := e.Input("platforms", ""); p != "" {
		args = append(args, "--platform", p)
	}
	// Every image built earlier in this workspace can be a FROM.
	for _, m := range baseImages(e) {
		args = append(args, "--base-image", m)
	}
	code, err := runShipgate(ctx, e, name, args...)
	if err != nil {
		return nil, err
	}
	if code == 0 && len(tags) > 1 {
		// Further tags name the same tarball.
		src := strings.TrimPrefix(output, "docker-archive:")
		for _, t := range tags[1:] {
			if strings.HasPrefix(output, "docker-archive:") {
				os.Remove(imagePath(e, t))
				if err := os.Link(src, imagePath(e, t)); err != nil {
					e.Log("warning: could not record tag %s: %v", t, err)
				}
			}
		}
	}
	if code == 0 {
		recordTags(e, tags, output)
	}
	return &Result{Outputs: map[string]string{"image": output}, Failed: code != 0}, nil
}

// The tag index maps a tag to its image, so FROM lines find earlier builds.
func indexPath(e *Env) string { return filepath.Join(imagesDir(e), "index") }

func recordTags(e *Env, tags []string, ref string) {
	b, _ := os.ReadFile(indexPath(e))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, t := range tags {
		lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, t+"=") || l == "" })
		lines = append(lines, t+"="+ref)
	}
	slices.Sort(lines)
	os.WriteFile(indexPath(e), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func baseImages(e *Env) []string {
	b, err := os.ReadFile(indexPath(e))
	if err != nil {
		return nil
	}
	return list(string(b))
}

// severityFlags maps a trivy/grype severity list to --fail-on (the lowest).
func lowestSeverity(sevs []string) string {
	order := []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
	best := len(order)
	for _, s := range sevs {
		if i := slices.Index(order, strings.ToUpper(strings.TrimSpace(s))); i >= 0 && i < best {
			best = i
		}
	}
	if best == len(order) {
		return ""
	}
	return order[best]
}

// trivy is aquasecurity/trivy-action for image scans (scan-type image, the
// default) and filesystem scans (scan-type fs, through deps audit).
func trivy(ctx context.Context, e *Env) (*Result, error) {
	const name = "aquasecurity/trivy-action"
	format := e.Input("format", "table")
	out := inWorkspace(e, e.Input("output", ""))
	var args []string
	switch st := e.Input("scan-type", "image"); st {
	case "image":
		ref := e.Input("image-ref", "")
		if ref == "" {
			return nil, fmt.Errorf("%s: image-ref is required for scan-type image", name)
		}
		args = []string{"image", "scan", resolveImage(e, ref)}
		if e.Input("ignore-unfixed", "false") == "true" {
			args = append(args, "--ignore-unfixed")
		}
		if f := e.Input("trivyignores", ""); f != "" {
			args = append(args, "--ignore", inWorkspace(e, f))
		}
	case "fs":
		args = []string{"deps", "audit", inWorkspace(e, e.Input("scan-ref", "."))}
	default:
		return nil, fmt.Errorf("%s: scan-type %q is not supported (image and fs are)", name, st)
	}
	sevs := list(e.Input("severity", "UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL"))
	if args[0] == "image" {
		args = append(args, "--severity", strings.Join(sevs, ","))
	}
	if code, _ := strconv.Atoi(e.Input("exit-code", "0")); code != 0 {
		if s := lowestSeverity(sevs); s != "" && args[0] == "image" {
			args = append(args, "--fail-on", s)
		}
	}
	switch format {
	case "table":
	case "sarif":
		if out != "" {
			args = append(args, "--sarif", out)
		} else {
			args = append(args, "--format", "sarif")
		}
	case "json":
		args = append(args, "--format", "json")
	case "cyclonedx", "spdx-json":
		if args[0] != "image" {
			return nil, fmt.Errorf("%s: format %s with scan-type fs: use shipgate/sbom@v1", name, format)
		}
		f := map[string]string{"cyclonedx": "cyclonedx-json", "spdx-json": "spdx-json"}[format]
		args = []string{"image", "sbom", args[2], "--format", f}
		if out != "" {
			args = append(args, "--output", out)
		}
	default:
		return nil, fmt.Errorf("%s: format %q is not supported (table, json, sarif, cyclonedx, spdx-json are)", name, format)
	}
	if format == "json" && out != "" {
		return runToFile(ctx, e, name, out, args)
	}
	code, err := runShipgate(ctx, e, name, args...)
	if err != nil {
		return nil, err
	}
	return &Result{Failed: code != 0}, nil
}

// runToFile runs shipgate with its standard output sent to a file.
func runToFile(ctx context.Context, e *Env, name, out string, args []string) (*Result, error) {
	self, err := e.self()
	if err != nil {
		return nil, err
	}
	argv := []string{"sh", "-c", `out="$1"; shift; exec "$@" > "$out"`, "sh", out, self}
	code, err := e.Exec(ctx, append(argv, args...), "")
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return &Result{Failed: code != 0}, nil
}

// anchoreSBOM is anchore/sbom-action: an image's SBOM, or a folder's.
func anchoreSBOM(ctx context.Context, e *Env) (*Result, error) {
	const name = "anchore/sbom-action"
	format := e.Input("format", "spdx-json")
	if format != "spdx-json" && format != "cyclonedx-json" && format != "cyclonedx-xml" {
		return nil, fmt.Errorf("%s: format %q is not supported (spdx-json, cyclonedx-json, cyclonedx-xml are)", name, format)
	}
	out := e.Input("output-file", "")
	if out == "" {
		out = "sbom." + strings.ReplaceAll(format, "-", ".")
	}
	out = inWorkspace(e, out)
	var args []string
	if img := e.Input("image", ""); img != "" {
		args = []string{"image", "sbom", resolveImage(e, img), "--format", format, "--output", out}
	} else {
		args = []string{"sbom", inWorkspace(e, e.Input("path", ".")), "--format", format, "--output", out}
	}
	code, err := runShipgate(ctx, e, name, args...)
	if err != nil {
		return nil, err
	}
	return &Result{Outputs: map[string]string{"sbom": out}, Failed: code != 0}, nil
}

// anchoreScan is anchore/scan-action: scan an image, fail at a cutoff.
func anchoreScan(ctx context.Context, e *Env) (*Result, error) {
	const name = "anchore/scan-action"
	img := e.Input("image", "")
	if img == "" {
		return nil, fmt.Errorf("%s: only image scans are supported: set image", name)
	}
	args := []string{"image", "scan", resolveImage(e, img)}
	if e.Input("fail-build", "true") == "true" {
		args = append(args, "--fail-on", strings.ToUpper(e.Input("severity-cutoff", "medium")))
	}
	if e.Input("only-fixed", "false") == "true" {
		args = append(args, "--ignore-unfixed")
	}
	outputs := map[string]string{}
	if f := e.Input("output-format", "sarif"); f == "sarif" {
		out := inWorkspace(e, e.Input("output-file", "results.sarif"))
		args = append(args, "--sarif", out)
		outputs["sarif"] = out
	}
	code, err := runShipgate(ctx, e, name, args...)
	if err != nil {
		return nil, err
	}
	return &Result{Outputs: outputs, Failed: code != 0}, nil
}

// uploadSARIF is github/codeql-action/upload-sarif: the SARIF file (or the
// files of a folder) is kept with the run in .shipgate/sarif/<run>/.
func uploadSARIF(ctx context.Context, e *Env) (*Result, error) {
	const name = "github/codeql-action/upload-sarif"
	src := inWorkspace(e, e.Input("sarif_file", "results.sarif"))
	dest := filepath.Join(e.StateDir, "sarif", strconv.FormatInt(e.RunID, 10))
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	var files []string
	if fi.IsDir() {
		matches, _ := filepath.Glob(filepath.Join(src, "*.sarif"))
		files = matches
	} else {
		files = []string{src}
	}
	for _, f := range files {
		if _, err := copyFile(f, filepath.Join(dest, filepath.Base(f))); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		e.Log("kept %s with run %d (nothing is uploaded)", filepath.Base(f), e.RunID)
	}
	return &Result{Outputs: map[string]string{"sarif-id": fmt.Sprintf("local-%d", e.RunID)}}, nil
}
