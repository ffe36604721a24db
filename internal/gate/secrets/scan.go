package secrets

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Finding is one secret found. It never holds the secret: Redacted shows at
// most its first characters, and the SHA-1 used for baselines is unexported.
type Finding struct {
	File        string   `json:"file"`
	Line        int      `json:"line"`
	Column      int      `json:"column"`
	EndColumn   int      `json:"end_column,omitempty"`
	RuleID      string   `json:"rule"`
	Description string   `json:"description,omitempty"`
	Redacted    string   `json:"match"`
	Entropy     float64  `json:"entropy,omitempty"`
	Commit      string   `json:"commit,omitempty"`
	Author      string   `json:"author,omitempty"`
	Email       string   `json:"email,omitempty"`
	Date        string   `json:"date,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Baselined is set when the baseline already lists this secret.
	Baselined bool `json:"baselined,omitempty"`

	hashed string
}

// HashedSecret is detect-secrets' hashed_secret of the finding's secret.
func (f Finding) HashedSecret() string { return f.hashed }

// Stats counts what a scan looked at.
type Stats struct {
	Files        int64 `json:"files"`
	Bytes        int64 `json:"bytes"`
	SkippedBig   int64 `json:"skipped_large"`
	SkippedBin   int64 `json:"skipped_binary"`
	SkippedAllow int64 `json:"skipped_allowlisted"`
	Ignored      int64 `json:"skipped_gitignored"`
	Commits      int64 `json:"commits,omitempty"`
}

// ScanOptions tune the directory scan.
type ScanOptions struct {
	// NoGitignore scans files .gitignore excludes too.
	NoGitignore bool
	// MaxFileSize skips larger files (0: no limit).
	MaxFileSize int64
	// Workers bounds the files scanned at once (0: GOMAXPROCS).
	Workers int
	// Skip lists paths (relative to the root, slash-separated) not to scan,
	// such as the baseline and config files.
	Skip []string
}

const (
	chunkSize = 1 << 20  // bytes scanned per fragment of a large file
	lookahead = 64 << 10 // bytes past a chunk's end a match may run into
	overlap   = 4 << 10  // bytes of context kept before a chunk's start
	sniffSize = 8000     // bytes looked at for NUL to call a file binary (as git does)
)

type sink struct {
	mu       sync.Mutex
	findings []Finding
}

func (s *sink) add(f Finding) {
	s.mu.Lock()
	s.findings = append(s.findings, f)
	s.mu.Unlock()
}

// dedupe drops repeated findings (the same secret at the same place found
// twice, say plainly and decoded) from a sorted list.
func dedupe(fs []Finding) []Finding {
	return slices.CompactFunc(fs, func(a, b Finding) bool {
		return a.File == b.File && a.Line == b.Line && a.Column == b.Column && a.RuleID == b.RuleID && a.Commit == b.Commit && a.hashed == b.hashed
	})
}

// SortFindings orders findings by file, line, column, rule and commit.
func SortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.RuleID, b.RuleID),
			cmp.Compare(a.Commit, b.Commit),
		)
	})
}

// ScanReader scans one stream (stdin, a single file) as file name, reading it
// in chunks so memory stays bounded whatever its size.
func (d *Detector) ScanReader(ctx context.Context, r io.Reader, name string) ([]Finding, error) {
	var s sink
	st := d.newScratch()
	buf := make([]byte, 0, chunkSize+lookahead+overlap)
	if err := d.scanStream(ctx, st, r, name, &buf, false, s.add); err != nil {
		return nil, err
	}
	SortFindings(s.findings)
	return dedupe(s.findings), nil
}

// scanStream reads r in chunks ending on line boundaries, each scanned with
// some context before it and a lookahead after it; a match is reported by
// the chunk it starts in. With sniff, a file whose first bytes hold a NUL is
// skipped as binary (reported by the false return through errBinary).
func (d *Detector) scanStream(ctx context.Context, st *scratch, r io.Reader, name string, bufp *[]byte, sniff bool, emit func(Finding)) error {
	buf := (*bufp)[:0]
	defer func() { *bufp = buf[:0] }()
	from, line := 0, 1
	first := true
	eof := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		for !eof && len(buf) < from+chunkSize+lookahead {
			if len(buf) == cap(buf) {
				buf = slices.Grow(buf, chunkSize)
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				eof = true
			} else if err != nil {
				return err
			}
		}
		if first && sniff && bytes.IndexByte(buf[:min(len(buf), sniffSize)], 0) >= 0 {
			return errBinary
		}
		first = false
		to := len(buf)
		if !eof {
			to = from + chunkSize
			if j := bytes.LastIndexByte(buf[from:to], '\n'); j >= 0 {
				to = from + j + 1
			}
		}
		fr := fragment{data: buf, path: name, startLine: line, from: from, to: to}
		d.scanFragment(st, &fr)
		d.finish(st, &fr, Finding{}, emit)
		if !d.NoDecode {
			d.decodePass(st, &fr, Finding{}, emit, 0)
		}
		if eof {
			return nil
		}
		// Keep `overlap` bytes of whole lines before the cut as context.
		keep := max(0, to-overlap)
		if j := bytes.LastIndexByte(buf[:keep], '\n'); j >= 0 {
			keep = j + 1
		} else {
			keep = 0
		}
		line += bytes.Count(buf[:keep], []byte{'\n'})
		n := copy(buf, buf[keep:])
		buf = buf[:n]
		from = to - keep
	}
}

var errBinary = errors.New("binary file")

// BaselineName is detect-secrets' baseline file name; such files hold hashes
// that look like secrets and are never scanned (as detect-secrets does).
const BaselineName = ".secrets.baseline"

// pathFindings reports the path-only rules (no regex) that match path: the
// file itself is the finding (a .p12 keystore, say).
func (d *Detector) pathFindings(path string, base Finding) []Finding {
	var out []Finding
	for _, ri := range d.paths {
		r := d.rules[ri]
		if r.Path.MatchString(path) && !allowedByPathOrCommit(r.Allowlists, path, base.Commit) {
			f := base
			f.File, f.RuleID, f.Description, f.Tags = path, r.ID, r.Description, r.Tags
			f.Redacted, f.hashed = "file detected: "+path, HashSecret(path)
			out = append(out, f)
		}
	}
	return out
}

type fileJob struct {
	abs, rel string
	size     int64
}

// ScanDir scans root (a directory or one file) with a bounded pool of
// workers, honouring .gitignore unless told otherwise, and skipping binaries,
// large files and the config's allowlisted paths.
func (d *Detector) ScanDir(ctx context.Context, root string, opt ScanOptions) ([]Finding, Stats, error) {
	var stats Stats
	info, err := os.Stat(root)
	if err != nil {
		return nil, stats, err
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan fileJob, 4*workers)
	var s sink
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	bufPool := sync.Pool{New: func() any { b := make([]byte, 0, chunkSize+lookahead+overlap); return &b }}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := d.newScratch()
			for j := range jobs {
				if ctx.Err() != nil {
					continue
				}
				bp := bufPool.Get().(*[]byte)
				err := d.scanFile(ctx, st, j, bp, &stats, s.add)
				bufPool.Put(bp)
				if err != nil && !errors.Is(err, errBinary) {
					e := fmt.Errorf("%s: %w", j.rel, err)
					firstErr.CompareAndSwap(nil, &e)
				}
			}
		}()
	}

	var walkErr error
	if !info.IsDir() {
		jobs <- fileJob{abs: root, rel: filepath.ToSlash(root), size: info.Size()}
	} else {
		walkErr = d.walk(ctx, root, opt, &stats, jobs)
	}
	close(jobs)
	wg.Wait()
	if walkErr == nil {
		if e := firstErr.Load(); e != nil {
			walkErr = *e
		}
	}
	if walkErr == nil {
		walkErr = ctx.Err()
	}
	SortFindings(s.findings)
	return dedupe(s.findings), stats, walkErr
}

func (d *Detector) scanFile(ctx context.Context, st *scratch, j fileJob, bp *[]byte, stats *Stats, emit func(Finding)) error {
	for _, f := range d.pathFindings(j.rel, Finding{}) {
		emit(f)
	}
	if j.size == 0 {
		return nil
	}
	f, err := os.Open(j.abs)
	if err != nil {
		return err
	}
	defer f.Close()
	err = d.scanStream(ctx, st, f, j.rel, bp, true, emit)
	if errors.Is(err, errBinary) {
		atomic.AddInt64(&stats.SkippedBin, 1)
		return err
	}
	atomic.AddInt64(&stats.Files, 1)
	atomic.AddInt64(&stats.Bytes, j.size)
	return err
}

// walk feeds the files under root to jobs.
func (d *Detector) walk(ctx context.Context, root string, opt ScanOptions, stats *Stats, jobs chan<- fileJob) error {
	var globalPaths []*Allowlist
	for _, a := range d.cfg.Allowlists {
		if a.pathOnly() {
			globalPaths = append(globalPaths, a)
		}
	}
	skip := map[string]bool{}
	for _, p := range opt.Skip {
		skip[filepath.ToSlash(filepath.Clean(p))] = true
	}
	ign := newIgnorer(!opt.NoGitignore)
	ign.enter(root, nil)
	return filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if de != nil && de.IsDir() && p != root {
				return filepath.SkipDir // unreadable directory: skip it
			}
			if p == root {
				return err
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		comps := strings.Split(rel, "/")
		if de.IsDir() {
			if de.Name() == ".git" {
				return filepath.SkipDir
			}
			if ign.ignored(comps, true) {
				atomic.AddInt64(&stats.Ignored, 1)
				return filepath.SkipDir
			}
			if allowedByPathOrCommit(globalPaths, rel, "") {
				atomic.AddInt64(&stats.SkippedAllow, 1)
				return filepath.SkipDir
			}
			ign.enter(p, comps)
			return nil
		}
		if !de.Type().IsRegular() {
			return nil // symlinks, devices, sockets
		}
		if ign.ignored(comps, false) {
			atomic.AddInt64(&stats.Ignored, 1)
			return nil
		}
		if skip[rel] || de.Name() == BaselineName || allowedByPathOrCommit(d.cfg.Allowlists, rel, "") {
			atomic.AddInt64(&stats.SkippedAllow, 1)
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			return nil
		}
		if opt.MaxFileSize > 0 && fi.Size() > opt.MaxFileSize {
			atomic.AddInt64(&stats.SkippedBig, 1)
			return nil
		}
		select {
		case jobs <- fileJob{abs: p, rel: rel, size: fi.Size()}:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	})
}
