package coverage

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Changes are the lines added or modified per file (new-side line numbers),
// as a unified diff says.
type Changes map[string][]int

// ParseDiff reads a unified diff (git diff output) and returns the added or
// modified lines of each file that still exists after the change. Deleted
// files are left out; a renamed file is listed under its new name.
func ParseDiff(r io.Reader) (Changes, error) {
	ch := Changes{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var (
		file    string
		newLine int
		inHunk  bool
		lineNo  int
		remain  int // new-side lines left in the hunk
		oldLeft int
	)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "diff --git "):
			file, inHunk = "", false
			// Take b/ path as a fallback when no +++ line follows (mode-only).
		case !inHunk && strings.HasPrefix(line, "+++ "):
			p := strings.TrimPrefix(line, "+++ ")
			if i := strings.IndexByte(p, '\t'); i >= 0 {
				p = p[:i]
			}
			p = unquoteGitPath(p)
			if p == "/dev/null" {
				file = ""
				continue
			}
			file = strings.TrimPrefix(p, "b/")
		case !inHunk && strings.HasPrefix(line, "--- "):
		case strings.HasPrefix(line, "@@ "):
			// @@ -a,b +c,d @@
			plus := strings.Index(line, " +")
			if plus < 0 {
				return nil, fmt.Errorf("diff line %d: bad hunk header %q", lineNo, line)
			}
			rest := line[plus+2:]
			end := strings.Index(rest, " ")
			if end < 0 {
				return nil, fmt.Errorf("diff line %d: bad hunk header %q", lineNo, line)
			}
			start, count, err := hunkRange(rest[:end])
			if err != nil {
				return nil, fmt.Errorf("diff line %d: bad hunk header %q", lineNo, line)
			}
			minus := strings.Index(line, " -")
			if minus >= 0 && minus < plus {
				_, oc, err := hunkRange(line[minus+2 : plus])
				if err == nil {
					oldLeft = oc
				}
			}
			newLine, remain, inHunk = start, count, true
		case inHunk:
			if remain <= 0 && oldLeft <= 0 {
				inHunk = false
				continue
			}
			switch {
			case strings.HasPrefix(line, "+"):
				if file != "" {
					ch[file] = append(ch[file], newLine)
				}
				newLine++
				remain--
			case strings.HasPrefix(line, "-"):
				oldLeft--
			case strings.HasPrefix(line, `\`):
			default: // context line (" " or an empty line git trimmed)
				newLine++
				remain--
				oldLeft--
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for f, ls := range ch {
		slices.Sort(ls)
		ch[f] = slices.Compact(ls)
	}
	return ch, nil
}

func hunkRange(s string) (start, count int, err error) {
	a, b, ok := strings.Cut(s, ",")
	start, err = strconv.Atoi(a)
	if err != nil {
		return 0, 0, err
	}
	count = 1
	if ok {
		count, err = strconv.Atoi(b)
	}
	return start, count, err
}

func unquoteGitPath(p string) string {
	if strings.HasPrefix(p, `"`) {
		if u, err := strconv.Unquote(p); err == nil {
			return u
		}
	}
	return p
}

// Merge adds other's lines.
func (c Changes) Merge(other Changes) {
	for f, ls := range other {
		all := append(c[f], ls...)
		slices.Sort(all)
		c[f] = slices.Compact(all)
	}
}

// GitChanges returns the lines changed since base the way diff_cover sees
// them: `git diff base...HEAD`, plus staged and unstaged changes, in dir.
func GitChanges(ctx context.Context, dir, base string) (Changes, error) {
	all := Changes{}
	for _, args := range [][]string{
		{"diff", "--no-color", "--no-ext-diff", "-U0", base + "...HEAD"},
		{"diff", "--no-color", "--no-ext-diff", "-U0", "--cached"},
		{"diff", "--no-color", "--no-ext-diff", "-U0"},
	} {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		ch, err := ParseDiff(bytes.NewReader(out))
		if err != nil {
			return nil, err
		}
		all.Merge(ch)
	}
	return all, nil
}

// PatchFile is the patch coverage of one changed file.
type PatchFile struct {
	Path     string `json:"path"`
	Measured int    `json:"measured"`
	Missing  []int  `json:"missing"`
	Covered  []int  `json:"covered"`
}

// Percent is the share of the file's measured changed lines that ran.
func (f PatchFile) Percent() float64 {
	if f.Measured == 0 {
		return 100
	}
	return float64(f.Measured-len(f.Missing)) * 100 / float64(f.Measured)
}

// Patch is the coverage of the changed lines, as diff_cover computes it:
// only changed lines the coverage report knows as executable are measured.
type Patch struct {
	Files        []PatchFile `json:"files"`
	Measured     int         `json:"measured"`
	Missing      int         `json:"missing"`
	ChangedLines int         `json:"changed_lines"`
}

// Percent is the patch coverage; 100 when nothing was measured.
func (p *Patch) Percent() float64 {
	if p.Measured == 0 {
		return 100
	}
	return float64(p.Measured-p.Missing) * 100 / float64(p.Measured)
}

// PatchCoverage intersects the changed lines with the profile. Report paths
// and diff paths match when equal after cleaning, or when one ends with the
// other at a path boundary (reports often hold absolute paths or Go import
// paths; diffs hold repository paths).
func PatchCoverage(p *Profile, changes Changes) *Patch {
	out := &Patch{}
	byClean := map[string]*File{}
	for name, f := range p.Files {
		byClean[cleanPath(name)] = f
	}
	for _, file := range slices.Sorted(maps.Keys(changes)) {
		lines := changes[file]
		out.ChangedLines += len(lines)
		f := findFile(byClean, cleanPath(file))
		if f == nil {
			continue
		}
		pf := PatchFile{Path: file}
		for _, l := range lines {
			h, ok := f.Lines[l]
			if !ok {
				if h, ok = f.FuncLines[l]; !ok {
					continue
				}
			}
			pf.Measured++
			if h > 0 {
				pf.Covered = append(pf.Covered, l)
			} else {
				pf.Missing = append(pf.Missing, l)
			}
		}
		if pf.Measured == 0 {
			continue
		}
		out.Files = append(out.Files, pf)
		out.Measured += pf.Measured
		out.Missing += len(pf.Missing)
	}
	return out
}

func cleanPath(p string) string {
	p = path.Clean(strings.ReplaceAll(p, `\`, "/"))
	return strings.TrimPrefix(p, "./")
}

func findFile(byClean map[string]*File, p string) *File {
	if f, ok := byClean[p]; ok {
		return f
	}
	var best *File
	bestLen := -1
	for name, f := range byClean {
		if strings.HasSuffix(name, "/"+p) || strings.HasSuffix(p, "/"+name) {
			if len(name) > bestLen || (len(name) == bestLen && best != nil && name < best.Name) {
				best, bestLen = f, len(name)
			}
		}
	}
	return best
}

// WriteDiffCoverConsole prints the patch the way `diff-cover` prints its
// console report, so results can be compared with diff_cover's fixtures.
func WriteDiffCoverConsole(w io.Writer, p *Patch, diffName string) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "-------------")
	fmt.Fprintln(bw, "Diff Coverage")
	fmt.Fprintf(bw, "Diff: %s\n", diffName)
	fmt.Fprintln(bw, "-------------")
	if p.Measured == 0 {
		fmt.Fprintln(bw, "No lines with coverage information in this diff.")
		fmt.Fprintln(bw, "-------------")
		return bw.Flush()
	}
	for _, f := range p.Files {
		if len(f.Missing) == 0 {
			fmt.Fprintf(bw, "%s (100%%)\n", f.Path)
			continue
		}
		ms := make([]string, len(f.Missing))
		for i, l := range f.Missing {
			ms[i] = strconv.Itoa(l)
		}
		fmt.Fprintf(bw, "%s (%.1f%%): Missing lines %s\n", f.Path, f.Percent(), strings.Join(ms, ","))
	}
	fmt.Fprintln(bw, "-------------")
	fmt.Fprintf(bw, "Total:   %s\n", plural(p.Measured, "line"))
	fmt.Fprintf(bw, "Missing: %s\n", plural(p.Missing, "line"))
	fmt.Fprintf(bw, "Coverage: %d%%\n", int(p.Percent()))
	fmt.Fprintln(bw, "-------------")
	return bw.Flush()
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
