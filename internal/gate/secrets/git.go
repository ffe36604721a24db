package secrets

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// commitMarker starts each commit header in the git log output we ask for.
const commitMarker = "\x1ecommit "

// ScanGit scans the lines each commit in rng added (`git log -p -U0`,
// streamed from the git binary) in the repository at repo. Each finding
// carries the commit, its author and date, the file and the line in that
// commit's version of the file. An empty rng means all of HEAD's history.
func (d *Detector) ScanGit(ctx context.Context, repo, rng string) ([]Finding, Stats, error) {
	var stats Stats
	if strings.HasPrefix(rng, "-") {
		return nil, stats, fmt.Errorf("bad git range %q", rng)
	}
	if rng == "" {
		rng = "HEAD"
	}
	args := []string{"-C", repo, "-c", "core.quotePath=false", "log", "-p", "-U0",
		"--no-color", "--no-ext-diff", "--no-textconv", "--full-history",
		"--format=" + commitMarker + "%H%x1f%an%x1f%ae%x1f%aI", rng, "--"}
	cmd := exec.CommandContext(ctx, "git", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, stats, err
	}
	if err := cmd.Start(); err != nil {
		return nil, stats, fmt.Errorf("git: %w", err)
	}
	var s sink
	perr := d.scanGitLog(ctx, out, &stats, s.add)
	if perr != nil {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if perr != nil {
		return nil, stats, perr
	}
	if werr != nil {
		return nil, stats, fmt.Errorf("git log %s: %v: %s", rng, werr, strings.TrimSpace(stderr.String()))
	}
	SortFindings(s.findings)
	return dedupe(s.findings), stats, nil
}

// scanGitLog parses `git log -p -U0` output and scans each hunk's added
// lines as one fragment starting at the hunk's new-file line.
func (d *Detector) scanGitLog(ctx context.Context, r io.Reader, stats *Stats, emit func(Finding)) error {
	br := bufio.NewReaderSize(r, 1<<16)
	// Hunks are scanned by a bounded pool while git log streams on; emit
	// must be safe for concurrent use.
	type job struct {
		fr   fragment
		base Finding
	}
	jobs := make(chan job, 64)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := d.newScratch()
			for j := range jobs {
				d.scanFragment(st, &j.fr)
				d.finish(st, &j.fr, j.base, emit)
				if !d.NoDecode {
					d.decodePass(st, &j.fr, j.base, emit, 0)
				}
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	var (
		base    Finding // commit, author, date
		file    string
		inHunk  bool
		start   int
		hunk    []byte
		skipped bool
	)
	flush := func() {
		if len(hunk) > 0 && file != "" && !skipped {
			data := bytes.Clone(hunk)
			jobs <- job{fragment{data: data, path: file, commit: base.Commit, startLine: start, from: 0, to: len(data)}, base}
			stats.Bytes += int64(len(hunk))
		}
		hunk = hunk[:0]
		inHunk = false
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			switch {
			case bytes.HasPrefix(line, []byte(commitMarker)):
				flush()
				f := strings.Split(strings.TrimRight(string(line[len(commitMarker):]), "\n"), "\x1f")
				for len(f) < 4 {
					f = append(f, "")
				}
				base = Finding{Commit: f[0], Author: f[1], Email: f[2], Date: f[3]}
				file = ""
				stats.Commits++
			case bytes.HasPrefix(line, []byte("diff --git ")):
				flush()
				file = ""
			case !inHunk && bytes.HasPrefix(line, []byte("+++ ")):
				p := strings.TrimRight(string(line[4:]), "\n")
				p = strings.TrimSuffix(p, "\t")
				if p == "/dev/null" {
					file = ""
				} else {
					file = strings.TrimPrefix(p, "b/")
				}
				skipped = file == "" || path.Base(file) == BaselineName || allowedByPathOrCommit(d.cfg.Allowlists, file, base.Commit)
				if !skipped {
					stats.Files++
					for _, f := range d.pathFindings(file, base) {
						emit(f)
					}
				}
			case bytes.HasPrefix(line, []byte("@@ ")):
				flush()
				start = hunkStart(line)
				inHunk = true
			case inHunk && line[0] == '+':
				hunk = append(hunk, line[1:]...)
			}
		}
		if err == io.EOF {
			flush()
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// hunkStart reads c from "@@ -a,b +c,d @@".
func hunkStart(line []byte) int {
	s := string(line)
	i := strings.Index(s, " +")
	if i < 0 {
		return 1
	}
	s = s[i+2:]
	j := strings.IndexAny(s, ", ")
	if j >= 0 {
		s = s[:j]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 1
	}
	return n
}
