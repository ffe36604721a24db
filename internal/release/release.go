package release

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/shipgate/shipgate/internal/atomicfile"
	"github.com/shipgate/shipgate/internal/gate/commits"
)

// Options configure Build.
type Options struct {
	// Dir is the repository.
	Dir string
	// Name prefixes archive names; default: the repository folder's name.
	Name string
	// Files are the build outputs to archive (files or folders, relative
	// to Dir). None: version and changelog only.
	Files []string
	// Formats: "tar.gz", "zip" (default both).
	Formats []string
	// Pre makes a pre-release: "rc" gives X.Y.Z-rc.N.
	Pre string
	// OutDir receives <OutDir>/<tag>/...; default Dir/dist/release.
	OutDir string
	// DryRun computes version and changelog and writes nothing.
	DryRun bool
	// Tag creates the annotated git tag.
	Tag bool
	// Signer signs artifacts, SHA256SUMS and the provenance; nil leaves
	// them unsigned.
	Signer *Signer
	// SourceDateEpoch is $SOURCE_DATE_EPOCH ("" when unset): the archive
	// mtime. Unset, the commit time is used, so both give the same bytes.
	SourceDateEpoch string
	// Workflow, InvocationID and BuilderVersion go into the provenance.
	Workflow, InvocationID, BuilderVersion string
}

// Artifact is one file of a release.
type Artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	// Signature is the path of its .sig, when signed.
	Signature string `json:"signature,omitempty"`
}

// Result describes a release (or what it would be on a dry run).
type Result struct {
	// Skipped is set (with the reason) when nothing is releasable.
	Skipped  string `json:"skipped,omitempty"`
	Previous string `json:"previous,omitempty"`
	Version  string `json:"version,omitempty"`
	Bump     string `json:"bump"`
	Reason   string `json:"reason"`
	Commit   string `json:"commit,omitempty"`
	Commits  int    `json:"commits"`
	// Ignored counts commits that are not conventional (merges aside):
	// they do not move the version and are not in the changelog.
	Ignored    int        `json:"ignored"`
	Changelog  string     `json:"changelog,omitempty"`
	Dir        string     `json:"dir,omitempty"`
	Artifacts  []Artifact `json:"artifacts,omitempty"`
	Checksums  string     `json:"checksums,omitempty"`
	Provenance string     `json:"provenance,omitempty"`
	Notes      string     `json:"notes,omitempty"`
	Tagged     bool       `json:"tagged"`
	DryRun     bool       `json:"dry_run"`
}

// Plan computes the next version and changelog without writing anything.
func Plan(ctx context.Context, o Options) (*Result, error) {
	tags, err := Tags(ctx, o.Dir)
	if err != nil {
		return nil, err
	}
	stable := LastStable(tags)
	rng := ""
	r := &Result{DryRun: o.DryRun}
	if stable != nil {
		rng = stable.Name + "..HEAD"
		r.Previous = stable.Name
	}
	cs, _, err := commits.Log(ctx, o.Dir, rng)
	if err != nil {
		return nil, err
	}
	head, err := commits.Git(ctx, o.Dir, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	r.Commit = strings.TrimSpace(head)
	r.Commits = len(cs)
	for _, c := range cs {
		if !c.Valid && !c.Merge {
			r.Ignored++
		}
	}
	bump, reason := BumpFor(cs)
	r.Bump, r.Reason = bump.String(), reason
	if bump == NoBump {
		r.Skipped = fmt.Sprintf("nothing to release since %s: %s", or(r.Previous, "the first commit"), reason)
		return r, nil
	}
	var cur *semver.Version
	if stable != nil {
		cur = stable.Version
	}
	next, err := Next(cur, bump, o.Pre, tags)
	if err != nil {
		return nil, err
	}
	r.Version = "v" + next.String()
	for _, t := range tags {
		if t.Name == r.Version {
			return nil, fmt.Errorf("tag %s already exists", r.Version)
		}
	}
	// A pre-release lists what is new since the last tag of any kind; a
	// final release everything since the last final release.
	logRange := rng
	if o.Pre != "" && len(tags) > 0 {
		logRange = tags[0].Name + "..HEAD"
	}
	notesCommits, _, err := commits.Log(ctx, o.Dir, logRange)
	if err != nil {
		return nil, err
	}
	date, err := commits.Git(ctx, o.Dir, "log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%d", "HEAD")
	if err != nil {
		return nil, err
	}
	r.Changelog = Changelog(r.Version, strings.TrimSpace(date), notesCommits)
	return r, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Mtime is the archive timestamp: SOURCE_DATE_EPOCH when set, else the
// commit time of HEAD.
func Mtime(ctx context.Context, dir, sourceDateEpoch string) (time.Time, error) {
	if sourceDateEpoch != "" {
		n, err := strconv.ParseInt(sourceDateEpoch, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", sourceDateEpoch)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	out, err := commits.Git(ctx, dir, "log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return time.Time{}, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("commit time %q: %v", out, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Build plans the release and, unless it is a dry run, writes the archives,
// SHA256SUMS, signatures, provenance and notes into OutDir/<tag>/ and tags
// the commit.
func Build(ctx context.Context, o Options) (*Result, error) {
	started := time.Now()
	r, err := Plan(ctx, o)
	if err != nil || r.Skipped != "" || o.DryRun {
		return r, err
	}
	name := o.Name
	if name == "" {
		abs, _ := filepath.Abs(o.Dir)
		name = filepath.Base(abs)
	}
	out := o.OutDir
	if out == "" {
		out = filepath.Join(o.Dir, "dist", "release")
	}
	r.Dir = filepath.Join(out, r.Version)
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return nil, err
	}
	// 1. Archives.
	if len(o.Files) > 0 {
		mtime, err := Mtime(ctx, o.Dir, o.SourceDateEpoch)
		if err != nil {
			return nil, err
		}
		base := name + "_" + strings.TrimPrefix(r.Version, "v")
		entries, err := collect(o.Dir, base, o.Files)
		if err != nil {
			return nil, err
		}
		formats := o.Formats
		if len(formats) == 0 {
			formats = []string{"tar.gz", "zip"}
		}
		for _, f := range formats {
			var write func(io.Writer) error
			switch f {
			case "tar.gz", "tgz":
				f = "tar.gz"
				write = func(w io.Writer) error { return writeTarGz(w, entries, mtime) }
			case "zip":
				write = func(w io.Writer) error { return writeZip(w, entries, mtime) }
			default:
				return nil, fmt.Errorf("unknown archive format %q (want tar.gz or zip)", f)
			}
			p := filepath.Join(r.Dir, base+"."+f)
			if err := atomicfile.Write(p, 0o644, write); err != nil {
				return nil, err
			}
			sum, err := FileSHA256(p)
			if err != nil {
				return nil, err
			}
			r.Artifacts = append(r.Artifacts, Artifact{Name: filepath.Base(p), Path: p, SHA256: sum})
		}
	}
	// 2. Checksums.
	sums := map[string]string{}
	for _, a := range r.Artifacts {
		sums[a.Name] = a.SHA256
	}
	if len(sums) > 0 {
		r.Checksums = filepath.Join(r.Dir, ChecksumsFile)
		if err := writeFile(r.Checksums, WriteChecksums(sums)); err != nil {
			return nil, err
		}
	}
	// 3. Signatures.
	if o.Signer != nil {
		for i, a := range r.Artifacts {
			if r.Artifacts[i].Signature, err = signFile(o.Signer, a.Path); err != nil {
				return nil, err
			}
		}
		if r.Checksums != "" {
			if _, err := signFile(o.Signer, r.Checksums); err != nil {
				return nil, err
			}
		}
	}
	// 4. Provenance.
	if len(r.Artifacts) > 0 {
		var subjects []Subject
		for _, a := range r.Artifacts {
			subjects = append(subjects, Subject{Name: a.Name, SHA256: a.SHA256})
		}
		repo := o.Dir
		if u, err := commits.Git(ctx, o.Dir, "config", "--get", "remote.origin.url"); err == nil && strings.TrimSpace(u) != "" {
			repo = strings.TrimSpace(u)
		} else if abs, err := filepath.Abs(o.Dir); err == nil {
			repo = "file://" + filepath.ToSlash(abs)
		}
		inv := o.InvocationID
		if inv == "" {
			b := make([]byte, 8)
			rand.Read(b)
			inv = hex.EncodeToString(b)
		}
		stmt, err := Statement(subjects, BuildInfo{
			Repository: repo, Commit: r.Commit, Ref: "refs/tags/" + r.Version,
			Workflow: or(o.Workflow, "shipgate release"), BuilderID: "https://github.com/shipgate/shipgate/release@v1",
			BuilderVersion: or(o.BuilderVersion, "dev"), InvocationID: inv, Started: started, Finished: time.Now(),
		})
		if err != nil {
			return nil, err
		}
		env := stmt
		if o.Signer != nil {
			if env, err = o.Signer.SignDSSE(stmt); err != nil {
				return nil, err
			}
		}
		r.Provenance = filepath.Join(r.Dir, name+"_"+strings.TrimPrefix(r.Version, "v")+".intoto.jsonl")
		if err := writeFile(r.Provenance, append(env, '\n')); err != nil {
			return nil, err
		}
	}
	// 5. Notes.
	r.Notes = filepath.Join(r.Dir, "RELEASE_NOTES.md")
	if err := writeFile(r.Notes, []byte(r.Changelog)); err != nil {
		return nil, err
	}
	// 6. Tag.
	if o.Tag {
		if _, err := commits.Git(ctx, o.Dir, "tag", "-a", r.Version, "-m", "Release "+r.Version+"\n\n"+r.Changelog); err != nil {
			return nil, err
		}
		r.Tagged = true
	}
	return r, nil
}

func writeFile(path string, data []byte) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func signFile(s *Signer, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sig, err := s.SignBlob(data)
	if err != nil {
		return "", err
	}
	p := path + SignatureSuffix
	return p, writeFile(p, sig)
}
