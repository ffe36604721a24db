package secrets

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Fake secrets used across tests (never real credentials).
const (
	fakeGitHubPAT = "ghp_R2d7Xq9LmN4vB8kT1pZsWc6YfJ3hUe0aGi5o"
	fakeAWSKey    = "AKIAQ7RXV3JFYU4N2GDE"
	fakePassword  = "Xk9#mQ2vLp!7"
)

func defaultDetector(t testing.TB) *Detector {
	t.Helper()
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	return NewDetector(cfg)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func summary(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s:%d:%d %s", f.File, f.Line, f.Column, f.RuleID))
	}
	return out
}

// TestScanDir: positions, .gitignore, binaries, inline allow comments.
func TestScanDir(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".gitignore":            "ignored/\n*.log\n!keep.log\n",
		"app/config.env":        "# settings\nGITHUB_TOKEN=" + fakeGitHubPAT + "\n",
		"app/allowed.env":       "GITHUB_TOKEN=" + fakeGitHubPAT + " # gitleaks:allow\nTOKEN2=" + fakeGitHubPAT + " # shipgate:allow\naws = \"" + fakeAWSKey + "\" # pragma: allowlist secret\n# pragma: allowlist nextline secret\nTOKEN3=" + fakeGitHubPAT + "\n",
		"ignored/secret.env":    "GITHUB_TOKEN=" + fakeGitHubPAT + "\n",
		"debug.log":             "GITHUB_TOKEN=" + fakeGitHubPAT + "\n",
		"keep.log":              "x\n  aws_key = \"" + fakeAWSKey + "\"\n",
		"bin/blob":              "\x00\x01\x02GITHUB_TOKEN=" + fakeGitHubPAT + "\n",
		"sub/.secrets.baseline": `{"results": {"a": [{"type": "x", "filename": "a", "hashed_secret": "f9bf03766b6203a7fd9a1504bc361b626364baf3"}]}}`,
	})
	d := defaultDetector(t)
	fs, st, err := d.ScanDir(context.Background(), dir, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := summary(fs)
	want := []string{"app/config.env:2:14 github-pat", "keep.log:2:14 aws-access-token"}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %q\nwant %q", got, want)
	}
	if st.SkippedBin != 1 || st.Ignored != 2 {
		t.Errorf("stats: %+v (want 1 binary, 2 ignored)", st)
	}
	// --no-gitignore scans the ignored files too.
	fs, _, err = d.ScanDir(context.Background(), dir, ScanOptions{NoGitignore: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 4 {
		t.Errorf("--no-gitignore: %q", summary(fs))
	}
}

// TestWindowsMatchFullScan: running each rule only around its keywords finds
// exactly what running it over every whole file finds, on every labelled
// corpus we have.
func TestWindowsMatchFullScan(t *testing.T) {
	fast := defaultDetector(t)
	full := defaultDetector(t)
	full.FullScan = true
	for _, dir := range []string{"testdata/credsweeper/samples", "testdata/detect-secrets/test_data", "testdata/gitleaks"} {
		a, _, err := fast.ScanDir(context.Background(), dir, ScanOptions{NoGitignore: true})
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := full.ScanDir(context.Background(), dir, ScanOptions{NoGitignore: true})
		if err != nil {
			t.Fatal(err)
		}
		if only, missing := diffStrings(summary(a), summary(b)); len(only)+len(missing) > 0 {
			t.Errorf("%s: windows found %d, full scan %d; only with windows: %q; only with full scans: %q", dir, len(a), len(b), only, missing)
		}
	}
}

// TestStreamChunks: a stream far larger than a chunk, with secrets right at
// and around chunk boundaries, gives the same findings (lines included) as
// one whole-text scan.
func TestStreamChunks(t *testing.T) {
	var b bytes.Buffer
	line := 0
	for b.Len() < 3*chunkSize+12345 {
		line++
		switch {
		case line%997 == 0:
			fmt.Fprintf(&b, "token = %q\n", fakeGitHubPAT)
		case line%1499 == 0:
			fmt.Fprintf(&b, "-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----\n", strings.Repeat("MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM5Ix+fQ9Jdg\n", 5))
		default:
			fmt.Fprintf(&b, "filler line %d with nothing secret in it at all\n", line)
		}
	}
	text := b.Bytes()
	d := defaultDetector(t)
	streamed, err := d.ScanReader(context.Background(), bytes.NewReader(text), "big.txt")
	if err != nil {
		t.Fatal(err)
	}
	// Reference: one fragment holding the whole text.
	st := d.newScratch()
	fr := fragment{data: text, path: "big.txt", startLine: 1, to: len(text)}
	d.scanFragment(st, &fr)
	var whole []Finding
	d.finish(st, &fr, Finding{}, func(f Finding) { whole = append(whole, f) })
	SortFindings(whole)
	if len(streamed) < 40 || !slices.Equal(summary(streamed), summary(whole)) {
		t.Errorf("streamed %d findings, whole text %d", len(streamed), len(whole))
	}
}

// TestScanGit: findings in history carry commit, author, file and line, and a
// secret deleted later is still found in the commit that added it.
func TestScanGit(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com",
			"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com",
			"GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{"README.md": "hello\n"})
	git("add", ".")
	git("commit", "-q", "-m", "first")
	first := git("rev-parse", "HEAD")
	writeFiles(t, dir, map[string]string{"conf/app.env": "a=1\nb=2\nGITHUB_TOKEN=" + fakeGitHubPAT + "\n"})
	git("add", ".")
	git("commit", "-q", "-m", "add token")
	added := git("rev-parse", "HEAD")
	writeFiles(t, dir, map[string]string{"conf/app.env": "a=1\nb=2\n"})
	git("add", ".")
	git("commit", "-q", "-m", "remove token")

	d := defaultDetector(t)
	fs, st, err := d.ScanGit(context.Background(), dir, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || st.Commits != 3 {
		t.Fatalf("want 1 finding in 3 commits, got %q in %d", summary(fs), st.Commits)
	}
	f := fs[0]
	if f.Commit != added || f.Author != "Ada" || f.Email != "ada@example.com" || f.File != "conf/app.env" || f.Line != 3 || f.RuleID != "github-pat" {
		t.Errorf("finding: %+v", f)
	}
	// A range that excludes the commit finds nothing.
	fs, _, err = d.ScanGit(context.Background(), dir, added+"..HEAD")
	if err != nil || len(fs) != 0 {
		t.Errorf("range after the commit: %q, %v", summary(fs), err)
	}
	fs, _, err = d.ScanGit(context.Background(), dir, first+"..HEAD")
	if err != nil || len(fs) != 1 {
		t.Errorf("range with the commit: %q, %v", summary(fs), err)
	}
	if _, _, err := d.ScanGit(context.Background(), dir, "no-such-ref"); err == nil {
		t.Error("bad range: want an error")
	}
}

// TestScanStdin: stdin is one stream named "stdin".
func TestScanStdin(t *testing.T) {
	d := defaultDetector(t)
	fs, err := d.ScanReader(context.Background(), strings.NewReader("x\npassword = \""+fakePassword+"\"\n"), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(fs); !slices.Contains(got, "stdin:2:1 shipgate-password-assignment") {
		t.Errorf("got %q", got)
	}
}

// diffStrings returns what only a has and what only b has (as multisets).
func diffStrings(a, b []string) (onlyA, onlyB []string) {
	count := map[string]int{}
	for _, x := range a {
		count[x]++
	}
	for _, x := range b {
		count[x]--
	}
	for x, n := range count {
		for ; n > 0; n-- {
			onlyA = append(onlyA, x)
		}
		for ; n < 0; n++ {
			onlyB = append(onlyB, x)
		}
	}
	slices.Sort(onlyA)
	slices.Sort(onlyB)
	return onlyA, onlyB
}

// TestMaxFileSize: larger files are skipped and counted.
func TestMaxFileSize(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"small.env": "GITHUB_TOKEN=" + fakeGitHubPAT + "\n",
		"big.env":   strings.Repeat("# padding\n", 20000) + "GITHUB_TOKEN=" + fakeGitHubPAT + "\n",
	})
	fs, st, err := defaultDetector(t).ScanDir(context.Background(), dir, ScanOptions{MaxFileSize: 100 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(fs); !slices.Equal(got, []string{"small.env:1:14 github-pat"}) || st.SkippedBig != 1 {
		t.Errorf("got %q, stats %+v", got, st)
	}
}
