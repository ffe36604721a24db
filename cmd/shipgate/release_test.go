package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2026-01-01T12:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T12:00:00Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func releaseRepo(t *testing.T, msgs ...string) string {
	t.Helper()
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, k := range []string{"AUTHOR", "COMMITTER"} {
		t.Setenv("GIT_"+k+"_NAME", "T")
		t.Setenv("GIT_"+k+"_EMAIL", "t@example.com")
	}
	dir := t.TempDir()
	gitIn(t, dir, "init", "-q", "-b", "main")
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	for i, m := range msgs {
		os.WriteFile(filepath.Join(dir, "bin", "app"), []byte("#!/bin/sh\necho "+string(rune('a'+i))+"\n"), 0o755)
		gitIn(t, dir, "add", ".")
		gitIn(t, dir, "commit", "-q", "--no-verify", "-m", m)
	}
	return dir
}

func TestCommitsCheckCommand(t *testing.T) {
	dir := releaseRepo(t, "feat: one", "fix(x): two")
	if code, out, errs := runMain(t, "", "commits", "check", "--repo", dir); code != 0 || !strings.Contains(out, "commits: pass") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	dir = releaseRepo(t, "feat: one", "Fixed things")
	code, out, _ := runMain(t, "", "commits", "check", "--repo", dir)
	if code != 1 || !strings.Contains(out, ":1:6: no ': ' after the type") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if code, _, errs := runMain(t, "", "commits", "check", "--repo", dir, "--range", "nosuch..HEAD"); code != 2 || !strings.Contains(errs, "nosuch") {
		t.Fatalf("bad range: exit %d %s", code, errs)
	}
	msg := filepath.Join(t.TempDir(), "COMMIT_EDITMSG")
	os.WriteFile(msg, []byte("feature: x\n# Please enter the commit message\n"), 0o644)
	if code, out, _ := runMain(t, "", "commits", "check", "--message-file", msg, "--types", "feat,fix"); code != 1 || !strings.Contains(out, "commits/type") {
		t.Fatalf("message file: exit %d\n%s", code, out)
	}
}

func TestKeysReleaseVerifyCommands(t *testing.T) {
	dir := releaseRepo(t, "feat: first", "fix: second")
	keys := t.TempDir()
	prefix := filepath.Join(keys, "cosign")
	t.Setenv("SHIPGATE_KEY_PASSWORD", "")
	if code, _, errs := runMain(t, "", "keys", "generate", "--output", prefix); code != 2 || !strings.Contains(errs, "SHIPGATE_KEY_PASSWORD") {
		t.Fatalf("no passphrase: exit %d %s", code, errs)
	}
	t.Setenv("SHIPGATE_KEY_PASSWORD", "s3cret")
	if code, out, errs := runMain(t, "", "keys", "generate", "--output", prefix); code != 0 {
		t.Fatalf("keys generate: exit %d %s%s", code, out, errs)
	}
	if code, _, _ := runMain(t, "", "keys", "generate", "--output", prefix); code != 2 {
		t.Fatalf("overwrite without --force: exit %d", code)
	}
	if code, _, errs := runMain(t, "", "release", "--repo", dir, "--keyless"); code != 2 || !strings.Contains(errs, "needs the network") {
		t.Fatalf("keyless: exit %d %s", code, errs)
	}
	code, out, errs := runMain(t, "", "release", "--repo", dir, "--dry-run")
	if code != 0 || !strings.Contains(out, "would release v0.1.0") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errs)
	}
	outDir := t.TempDir()
	code, out, errs = runMain(t, "", "release", "--repo", dir, "--files", "bin", "--name", "app", "--key", prefix+".key", "--out", outDir, "--json")
	if code != 0 {
		t.Fatalf("release: exit %d\n%s%s", code, out, errs)
	}
	var res struct {
		Version    string
		Provenance string
		Artifacts  []struct{ Path string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Version != "v0.1.0" || len(res.Artifacts) != 2 {
		t.Fatalf("release json: %v\n%s", err, out)
	}
	if tags := gitIn(t, dir, "tag"); tags != "v0.1.0" {
		t.Fatalf("tags %q", tags)
	}
	args := []string{"verify", res.Artifacts[0].Path, res.Artifacts[1].Path, "--key", prefix + ".pub", "--provenance", res.Provenance}
	if code, out, errs := runMain(t, "", args...); code != 0 || !strings.Contains(out, "verify: pass") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}
	b, _ := os.ReadFile(res.Artifacts[1].Path)
	b[len(b)/2] ^= 1
	os.WriteFile(res.Artifacts[1].Path, b, 0o644)
	code, out, _ = runMain(t, "", args...)
	if code != 1 || !strings.Contains(out, "verify: fail") || !strings.Contains(out, "app_0.1.0.zip") {
		t.Fatalf("tampered verify: exit %d\n%s", code, out)
	}
	// Without --key: digests only, verdict warn, exit 0 (the tar.gz is intact).
	if code, out, _ := runMain(t, "", "verify", res.Artifacts[0].Path); code != 0 || !strings.Contains(out, "verify: warn") {
		t.Fatalf("verify without --key: exit %d\n%s", code, out)
	}
}
