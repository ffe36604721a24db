package release

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/shipgate/shipgate/internal/atomicfile"
)

// LocalRelease is a release written to a local folder: what
// softprops/action-gh-release would create on GitHub, kept on this machine.
type LocalRelease struct {
	Tag        string   `json:"tag_name"`
	Name       string   `json:"name"`
	Body       string   `json:"body"`
	Draft      bool     `json:"draft"`
	Prerelease bool     `json:"prerelease"`
	Files      []string `json:"files"`
}

// PublishInputs turns the inputs of softprops/action-gh-release (tag_name,
// name, body, body_path, files, draft, prerelease) into a LocalRelease.
// Relative paths and globs are read from workdir; refName ($GITHUB_REF_NAME)
// is the tag when tag_name is not given. Files that match nothing are an
// error unless fail_on_unmatched_files is "false".
func PublishInputs(inputs map[string]string, workdir, refName string) (*LocalRelease, []string, error) {
	r := &LocalRelease{Tag: strings.TrimSpace(inputs["tag_name"]), Name: inputs["name"], Body: inputs["body"]}
	if r.Tag == "" {
		r.Tag = strings.TrimPrefix(refName, "refs/tags/")
	}
	if r.Tag == "" {
		return nil, nil, fmt.Errorf("no tag: set tag_name or run on a tag")
	}
	if r.Name == "" {
		r.Name = r.Tag
	}
	if p := strings.TrimSpace(inputs["body_path"]); p != "" {
		if !filepath.IsAbs(p) {
			p = filepath.Join(workdir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("body_path: %v", err)
		}
		if r.Body != "" {
			r.Body += "\n"
		}
		r.Body += string(b)
	}
	for _, k := range []string{"draft", "prerelease"} {
		v := strings.TrimSpace(inputs[k])
		if v == "" {
			continue
		}
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return nil, nil, fmt.Errorf("%s: %q is not true or false", k, v)
		}
		if k == "draft" {
			r.Draft = b
		} else {
			r.Prerelease = b
		}
	}
	strict := strings.TrimSpace(inputs["fail_on_unmatched_files"]) != "false"
	var paths []string
	for _, pat := range strings.FieldsFunc(inputs["files"], func(r rune) bool { return r == '\n' || r == ',' }) {
		pat = strings.TrimSpace(pat)
		if pat == "" {
			continue
		}
		full := pat
		if !filepath.IsAbs(full) {
			full = filepath.Join(workdir, pat)
		}
		m, gerr := filepath.Glob(full)
		if gerr != nil {
			return nil, nil, fmt.Errorf("files: %q: %v", pat, gerr)
		}
		if len(m) == 0 && strict {
			return nil, nil, fmt.Errorf("files: %q matches no file", pat)
		}
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	return r, paths, nil
}

// Publish writes the release into root/<tag>/: release.json, notes.md and
// a copy of each file (a later publish of the same tag replaces the
// files of the same names, as re-running the action updates the release).
func Publish(root string, r *LocalRelease, files []string) (string, error) {
	if r.Tag == "" || strings.ContainsAny(r.Tag, `/\`) || r.Tag == "." || r.Tag == ".." {
		return "", fmt.Errorf("release tag %q cannot name a folder", r.Tag)
	}
	dir := filepath.Join(root, r.Tag)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	seen := map[string]bool{}
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		if info.IsDir() {
			continue
		}
		name := filepath.Base(f)
		if seen[name] || name == "release.json" || name == "notes.md" {
			return "", fmt.Errorf("two release files are named %s", name)
		}
		seen[name] = true
		if err := copyFile(f, filepath.Join(dir, name)); err != nil {
			return "", err
		}
		r.Files = append(r.Files, name)
	}
	sort.Strings(r.Files)
	meta, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(dir, "notes.md"), []byte(r.Body)); err != nil {
		return "", err
	}
	return dir, writeFile(filepath.Join(dir, "release.json"), append(meta, '\n'))
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
