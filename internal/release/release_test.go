package release

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/gate/commits"
)

var update = flag.Bool("update", false, "rewrite golden files")

// repo is a scripted git repository with fixed identities and dates, so
// commit hashes (and the changelog's short hashes) are stable.
type repo struct {
	t   *testing.T
	dir string
	n   int
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, k := range []string{"AUTHOR", "COMMITTER"} {
		t.Setenv("GIT_"+k+"_NAME", "Release Tester")
		t.Setenv("GIT_"+k+"_EMAIL", "tester@example.com")
	}
	r := &repo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	date := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(r.n) * time.Hour).Format(time.RFC3339)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) commit(msg string) string {
	r.t.Helper()
	r.n++
	os.WriteFile(filepath.Join(r.dir, fmt.Sprintf("file%02d.txt", r.n)), []byte(msg+"\n"), 0o644)
	r.git("add", ".")
	r.git("commit", "-q", "--no-verify", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// TestVersionsAndChangelogOnScriptedHistory walks a history with merges,
// reverts, breaking changes and pre-releases and compares each planned
// version and changelog with testdata/history.golden.
func TestVersionsAndChangelogOnScriptedHistory(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	var got strings.Builder
	step := func(label, pre string) *Result {
		t.Helper()
		res, err := Plan(ctx, Options{Dir: r.dir, Pre: pre, DryRun: true})
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		fmt.Fprintf(&got, "=== %s\nprevious: %s\nversion: %s\nbump: %s (%s)\nskipped: %s\n%s\n", label, res.Previous, res.Version, res.Bump, res.Reason, res.Skipped, res.Changelog)
		return res
	}
	r.commit("chore: initial scaffolding")
	step("only a chore: nothing to release", "")
	r.commit("feat: first command")
	step("first feature from no tag", "")
	r.n++
	r.git("tag", "-a", "v0.1.0", "-m", "v0.1.0")

	r.commit("fix(parser): handle empty input")
	r.commit("docs: explain flags")
	r.git("checkout", "-q", "-b", "feature")
	r.commit("feat(api): add /health endpoint")
	r.git("checkout", "-q", "main")
	r.commit("test: cover the parser")
	r.n++
	r.git("merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature")
	r.commit("feat: temporary flag")
	r.n++
	r.git("revert", "--no-edit", "HEAD")
	r.commit("perf: faster hashing")
	r.commit("Update README") // not conventional: ignored for the version
	step("feature merged, reverted pair cancels", "")

	r.commit("feat(cli)!: rename --out to --output\n\nBREAKING CHANGE: --out is gone; use --output.")
	step("breaking change", "")
	res := step("release candidate", "rc")
	r.n++
	r.git("tag", "-a", res.Version, "-m", res.Version)
	r.commit("fix: crash on empty config")
	step("second release candidate", "rc")
	step("final after candidates", "")

	golden := filepath.Join("testdata", "history.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, []byte(got.String()), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("history differs from %s (run with -update to review):\n%s", golden, got.String())
	}
}

func signer(t *testing.T, kt string) (*Signer, []byte) {
	t.Helper()
	priv, pub, err := GenerateKeys(kt, []byte("test passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigner(priv, []byte("wrong")); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	s, err := LoadSigner(priv, []byte("test passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Public, pub) {
		t.Fatal("public key of the loaded signer differs")
	}
	return s, pub
}

func buildRepo(t *testing.T) *repo {
	r := newRepo(t)
	os.MkdirAll(filepath.Join(r.dir, "bin"), 0o755)
	os.WriteFile(filepath.Join(r.dir, "bin", "tool"), []byte("#!/bin/sh\necho tool\n"), 0o755)
	os.WriteFile(filepath.Join(r.dir, "bin", "README"), []byte("read me\n"), 0o600)
	r.commit("feat: first release")
	return r
}

// TestReproducibleArchives: two builds of the same commit on different
// days, one with SOURCE_DATE_EPOCH unset and one with it set to the commit
// time, with different file mtimes and permissions, give identical bytes.
func TestReproducibleArchives(t *testing.T) {
	ctx := context.Background()
	r := buildRepo(t)
	build := func(out, epoch string) map[string][]byte {
		res, err := Build(ctx, Options{Dir: r.dir, Name: "tool", Files: []string{"bin"}, OutDir: out, SourceDateEpoch: epoch})
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, a := range res.Artifacts {
			files[a.Name], _ = os.ReadFile(a.Path)
		}
		if len(files) != 2 {
			t.Fatalf("artifacts %v", res.Artifacts)
		}
		return files
	}
	first := build(filepath.Join(t.TempDir(), "a"), "")
	// "Another day": touch the inputs, change a non-exec permission.
	later := time.Now().Add(36 * time.Hour)
	os.Chtimes(filepath.Join(r.dir, "bin", "tool"), later, later)
	os.Chtimes(filepath.Join(r.dir, "bin", "README"), later, later)
	os.Chmod(filepath.Join(r.dir, "bin", "README"), 0o644)
	ct := r.git("log", "-1", "--format=%ct")
	second := build(filepath.Join(t.TempDir(), "b"), ct)
	for name, b := range first {
		if !bytes.Equal(b, second[name]) {
			t.Errorf("%s differs between the two builds", name)
		}
	}
	// And a different SOURCE_DATE_EPOCH does change them (the test can fail).
	third := build(filepath.Join(t.TempDir(), "c"), "1000000000")
	if bytes.Equal(first["tool_0.1.0.tar.gz"], third["tool_0.1.0.tar.gz"]) {
		t.Error("SOURCE_DATE_EPOCH has no effect on the tar.gz")
	}
}

func copyDir(t *testing.T, src string) string {
	dst := t.TempDir()
	ents, _ := os.ReadDir(src)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(src, e.Name()))
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
	return dst
}

// TestSignedReleaseVerifiesAndTamperingIsNamed flips one byte in each kind
// of file and checks that verification fails naming that file.
func TestSignedReleaseVerifiesAndTamperingIsNamed(t *testing.T) {
	for _, kt := range KeyTypes {
		t.Run(kt, func(t *testing.T) {
			ctx := context.Background()
			r := buildRepo(t)
			s, pub := signer(t, kt)
			res, err := Build(ctx, Options{Dir: r.dir, Name: "tool", Files: []string{"bin"}, OutDir: t.TempDir(), Signer: s, Tag: true})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Tagged || r.git("tag", "--list") != "v0.1.0" {
				t.Fatalf("not tagged: %v", r.git("tag", "--list"))
			}
			verify := func(dir string) []Check {
				var arts []string
				for _, a := range res.Artifacts {
					arts = append(arts, filepath.Join(dir, a.Name))
				}
				checks, err := Verify(VerifyOptions{Artifacts: arts, PublicKey: pub, Provenance: filepath.Join(dir, filepath.Base(res.Provenance))})
				if err != nil {
					t.Fatal(err)
				}
				return checks
			}
			for _, c := range verify(res.Dir) {
				if !c.OK {
					t.Fatalf("clean release fails: %s", c.Message)
				}
			}
			for _, victim := range []string{"tool_0.1.0.tar.gz", "tool_0.1.0.zip", "SHA256SUMS", "tool_0.1.0.tar.gz.sig", "SHA256SUMS.sig", "tool_0.1.0.intoto.jsonl"} {
				dir := copyDir(t, res.Dir)
				p := filepath.Join(dir, victim)
				b, _ := os.ReadFile(p)
				b[len(b)/2] ^= 0x01
				os.WriteFile(p, b, 0o644)
				var failed []string
				named := false
				for _, c := range verify(dir) {
					if !c.OK {
						failed = append(failed, c.Message)
						if strings.Contains(c.Message, victim) {
							named = true
						}
					}
				}
				if len(failed) == 0 || !named {
					t.Errorf("flipping a byte of %s: failures %q do not name it", victim, failed)
				}
			}
			// Another key does not verify.
			_, otherPub := signer(t, kt)
			checks, err := Verify(VerifyOptions{Artifacts: []string{res.Artifacts[0].Path}, PublicKey: otherPub})
			if err != nil {
				t.Fatal(err)
			}
			bad := 0
			for _, c := range checks {
				if !c.OK {
					bad++
				}
			}
			if bad != 2 { // SHA256SUMS.sig and the artifact's .sig
				t.Errorf("another key: %d failures, want 2: %+v", bad, checks)
			}
		})
	}
}

func TestNothingToRelease(t *testing.T) {
	r := newRepo(t)
	r.commit("docs: readme")
	res, err := Build(context.Background(), Options{Dir: r.dir, Tag: true})
	if err != nil || res.Skipped == "" || res.Version != "" {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestBumpIsCaseInsensitive(t *testing.T) {
	for _, c := range []struct {
		msgs []string
		want Bump
	}{
		{[]string{"FEAT: x"}, Minor},
		{[]string{"Fix(a): x", "docs: y"}, Patch},
		{[]string{"chore: x", "refactor!: y"}, Major},
		{[]string{"docs: x", "Update things"}, NoBump},
	} {
		var cs []commits.Commit
		for i, m := range c.msgs {
			cm, _ := commits.Parse(m)
			cm.Hash = fmt.Sprintf("%040d", i)
			cs = append(cs, cm)
		}
		if got, reason := BumpFor(cs); got != c.want {
			t.Errorf("%q: %s (%s), want %s", c.msgs, got, reason, c.want)
		}
	}
}
