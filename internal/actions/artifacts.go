package actions

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/shipgate/shipgate/internal/store"
)

// artifactDir is where a run's artifact lives on disk.
func artifactDir(stateDir string, runID int64, name string) string {
	return filepath.Join(stateDir, "artifacts", strconv.FormatInt(runID, 10), name)
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[2:])
		}
	}
	return p
}

// searchFiles resolves upload-artifact's `path:` lines as actions/toolkit's
// glob does: directories include every file below them, globs match files,
// "!" lines exclude; the root is the common ancestor of the search paths.
func searchFiles(workspace, spec string) (root string, files []string, err error) {
	var include, exclude []string
	for _, l := range lines(spec) {
		neg := strings.HasPrefix(l, "!")
		l = strings.TrimPrefix(l, "!")
		l = expandHome(l)
		if !filepath.IsAbs(l) {
			l = filepath.Join(workspace, l)
		}
		l = filepath.Clean(l)
		if neg {
			exclude = append(exclude, l)
		} else {
			include = append(include, l)
		}
	}
	seen := map[string]bool{}
	var bases []string
	for _, pat := range include {
		base, _ := doublestar.SplitPattern(filepath.ToSlash(pat))
		if !hasMeta(pat) {
			base = pat
			if fi, err := os.Stat(pat); err == nil && !fi.IsDir() {
				base = filepath.Dir(pat)
			}
		}
		bases = append(bases, filepath.FromSlash(base))
		matches, err := doublestar.FilepathGlob(pat)
		if err != nil {
			return "", nil, fmt.Errorf("path %q: %v", pat, err)
		}
		for _, m := range matches {
			filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() && !seen[p] {
					seen[p] = true
					files = append(files, p)
				}
				return nil
			})
		}
	}
	files = slices.DeleteFunc(files, func(f string) bool {
		for _, ex := range exclude {
			if ok, _ := doublestar.PathMatch(filepath.ToSlash(ex), filepath.ToSlash(f)); ok || strings.HasPrefix(f, ex+string(filepath.Separator)) {
				return true
			}
		}
		return false
	})
	slices.Sort(files)
	root = commonDir(bases)
	return root, files, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[{") }

func commonDir(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	root := paths[0]
	for _, p := range paths[1:] {
		for root != "/" && root != "." && p != root && !strings.HasPrefix(p, root+string(filepath.Separator)) {
			root = filepath.Dir(root)
		}
	}
	return root
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm()|0o200)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// copyTree copies every regular file under src into dst.
func copyTree(src, dst string) (files int, bytes int64, err error) {
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		n, err := copyFile(p, filepath.Join(dst, rel))
		files++
		bytes += n
		return err
	})
	return files, bytes, err
}

// uploadArtifact implements actions/upload-artifact v3 and v4: name
// (default "artifact"), path globs, if-no-files-found (warn, error,
// ignore), retention-days, overwrite (v4; v3 always adds to the artifact).
func uploadArtifact(ctx context.Context, e *Env) (*Result, error) {
	name := e.Input("name", "artifact")
	if strings.ContainsAny(name, `/\:*?"<>|`) || name == "." || name == ".." {
		return nil, fmt.Errorf("actions/upload-artifact: invalid artifact name %q", name)
	}
	spec := e.Input("path", "")
	if spec == "" {
		return nil, fmt.Errorf("actions/upload-artifact: input \"path\" is required")
	}
	root, files, err := searchFiles(e.Workspace, spec)
	if err != nil {
		return nil, fmt.Errorf("actions/upload-artifact: %v", err)
	}
	if len(files) == 0 {
		msg := fmt.Sprintf("No files were found with the provided path: %s. No artifacts will be uploaded.", strings.Join(lines(spec), ", "))
		switch e.Input("if-no-files-found", "warn") {
		case "error":
			return nil, fmt.Errorf("actions/upload-artifact: %s", msg)
		case "ignore":
			e.Log("%s", msg)
		default:
			e.Log("::warning::%s", msg)
		}
		return &Result{Outputs: map[string]string{}}, nil
	}
	dir := artifactDir(e.StateDir, e.RunID, name)
	if _, err := os.Stat(dir); err == nil && e.Input("overwrite", "false") == "true" {
		os.RemoveAll(dir)
	}
	var total int64
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = filepath.Base(f)
		}
		n, err := copyFile(f, filepath.Join(dir, rel))
		if err != nil {
			return nil, fmt.Errorf("actions/upload-artifact: %v", err)
		}
		total += n
	}
	count, size, _ := dirStats(dir)
	a := &store.Artifact{RunID: e.RunID, Name: name, Dir: dir, Files: count, Bytes: size}
	if days := e.Input("retention-days", ""); days != "" {
		d, err := strconv.Atoi(days)
		if err != nil || d < 1 || d > 90 {
			return nil, fmt.Errorf("actions/upload-artifact: retention-days %q: want a whole number of days from 1 to 90", days)
		}
		t := time.Now().Add(time.Duration(d) * 24 * time.Hour)
		a.ExpiresAt = &t
	}
	if e.Runs != nil {
		if err := e.Runs.SaveArtifact(ctx, a); err != nil {
			return nil, fmt.Errorf("actions/upload-artifact: recording %s: %v", name, err)
		}
	}
	e.Log("Uploaded artifact %q: %d file(s), %d bytes", name, len(files), total)
	return &Result{Outputs: map[string]string{"artifact-id": strconv.FormatInt(a.ID, 10), "artifact-url": "file://" + dir}}, nil
}

func dirStats(dir string) (int, int64, error) {
	n, size := 0, int64(0)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n++
				size += fi.Size()
			}
		}
		return nil
	})
	return n, size, err
}

// findArtifacts lists the artifacts visible to this run by name (the
// current run first, then a re-run's original).
func findArtifacts(e *Env) map[string]string {
	out := map[string]string{}
	runs := append([]int64{e.RunID}, e.ArtifactRuns...)
	for _, id := range runs {
		base := filepath.Join(e.StateDir, "artifacts", strconv.FormatInt(id, 10))
		ents, _ := os.ReadDir(base)
		for _, d := range ents {
			if _, ok := out[d.Name()]; !ok && d.IsDir() {
				out[d.Name()] = filepath.Join(base, d.Name())
			}
		}
	}
	return out
}

// downloadArtifact implements actions/download-artifact v3 and v4: one
// artifact by name into path, or all of them (each in path/<name>, or
// merged with merge-multiple), optionally filtered by pattern.
func downloadArtifact(ctx context.Context, e *Env) (*Result, error) {
	dest := expandHome(e.Input("path", "."))
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(e.Workspace, dest)
	}
	all := findArtifacts(e)
	if name := e.Input("name", ""); name != "" {
		src, ok := all[name]
		if !ok {
			var have []string
			for n := range all {
				have = append(have, n)
			}
			slices.Sort(have)
			return nil, fmt.Errorf("actions/download-artifact: artifact %q not found in this run (have: %s)", name, strings.Join(have, ", "))
		}
		n, _, err := copyTree(src, dest)
		if err != nil {
			return nil, fmt.Errorf("actions/download-artifact: %v", err)
		}
		e.Log("Downloaded artifact %q (%d file(s)) to %s", name, n, dest)
		return &Result{Outputs: map[string]string{"download-path": dest}}, nil
	}
	pattern := e.Input("pattern", "")
	merge := e.Input("merge-multiple", "false") == "true"
	var names []string
	for n := range all {
		if ok, _ := doublestar.Match(pattern, n); pattern == "" || ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		to := filepath.Join(dest, n)
		if merge {
			to = dest
		}
		if _, _, err := copyTree(all[n], to); err != nil {
			return nil, fmt.Errorf("actions/download-artifact: %v", err)
		}
	}
	e.Log("Downloaded %d artifact(s) to %s", len(names), dest)
	return &Result{Outputs: map[string]string{"download-path": dest}}, nil
}
