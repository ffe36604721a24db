package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// secretsCLI runs `shipgate secrets args...` with stdin and returns the exit
// code, stdout and stderr.
func secretsCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"secrets"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// Fake credentials (not real).
const (
	cliPAT      = "ghp_R2d7Xq9LmN4vB8kT1pZsWc6YfJ3hUe0aGi5o"
	cliPassword = "Xk9#mQ2vLp!7"
	cliAWS      = "AKIAQ7RXV3JFYU4N2GDE"
)

func secretsProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"app/settings.env": "GITHUB_TOKEN=" + cliPAT + "\nDB_PASSWORD=" + cliPassword + "\n",
		"deploy/aws.ini":   "[default]\naws_access_key_id = " + cliAWS + "\n",
		"README.md":        "nothing here\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestSecretsNeverPrinted: no output format, side report, step summary or
// baseline holds a secret (the baseline holds SHA-1s, as detect-secrets'
// does).
func TestSecretsNeverPrinted(t *testing.T) {
	dir := secretsProject(t)
	side := t.TempDir()
	summary := filepath.Join(side, "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	var everything strings.Builder
	// From inside the project, where a printer could read the files back.
	t.Chdir(dir)
	for _, format := range []string{"text", "json", "markdown", "sarif", "junit"} {
		code, out, errs := secretsCLI(t, "", ".", "--format", format,
			"--sarif", filepath.Join(side, "r.sarif"), "--junit", filepath.Join(side, "r.xml"), "--markdown", filepath.Join(side, "r.md"))
		if code != 1 {
			t.Fatalf("%s: exit %d, want 1\n%s%s", format, code, out, errs)
		}
		everything.WriteString(out + errs)
	}
	baseline := filepath.Join(side, ".secrets.baseline")
	if code, out, errs := secretsCLI(t, "", ".", "--baseline", baseline, "--update-baseline"); code != 0 {
		t.Fatalf("update-baseline: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := secretsCLI(t, "GITHUB_TOKEN="+cliPAT+"\n", "--stdin", "--json")
	if code != 1 {
		t.Fatalf("stdin: exit %d\n%s%s", code, out, errs)
	}
	everything.WriteString(out + errs)
	for _, f := range []string{"r.sarif", "r.xml", "r.md", "summary.md", ".secrets.baseline"} {
		b, err := os.ReadFile(filepath.Join(side, f))
		if err != nil {
			t.Fatal(err)
		}
		everything.Write(b)
	}
	all := everything.String()
	for _, secret := range []string{cliPAT, cliPassword, cliAWS, cliPAT[4:20], cliPassword[2:9], cliAWS[4:16]} {
		if strings.Contains(all, secret) {
			t.Errorf("secret %q (or part of it) reached the output", secret)
		}
	}
	for _, want := range []string{"settings.env:1:14", "github-pat", "aws.ini:2:21", "shipgate-password-assignment"} {
		if !strings.Contains(all, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestSecretsBaseline: after --update-baseline only new secrets fail, and the
// baseline is detect-secrets' format.
func TestSecretsBaseline(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	dir := secretsProject(t)
	baseline := filepath.Join(t.TempDir(), ".secrets.baseline")
	code, out, _ := secretsCLI(t, "", dir, "--baseline", baseline, "--update-baseline")
	if code != 0 || !strings.Contains(out, "baseline "+baseline+" updated: 3 secret(s) listed") {
		t.Fatalf("update: exit %d\n%s", code, out)
	}
	var b struct {
		Version     string `json:"version"`
		Results     map[string][]map[string]any
		GeneratedAt string `json:"generated_at"`
	}
	data, _ := os.ReadFile(baseline)
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if b.Version != "1.5.0" || b.GeneratedAt != "2026-01-01T00:00:00Z" || len(b.Results["app/settings.env"]) != 2 {
		t.Fatalf("baseline:\n%s", data)
	}
	// SHA-1 of the PAT, as detect-secrets hashes secrets.
	if !strings.Contains(string(data), `"hashed_secret": "`) {
		t.Fatalf("no hashed_secret:\n%s", data)
	}
	code, out, _ = secretsCLI(t, "", dir, "--baseline", baseline)
	if code != 0 || !strings.Contains(out, "no new secrets (3 in the baseline)") {
		t.Fatalf("known secrets: exit %d\n%s", code, out)
	}
	os.WriteFile(filepath.Join(dir, "app", "new.env"), []byte("TOKEN=ghp_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2\n"), 0o644)
	code, out, _ = secretsCLI(t, "", dir, "--baseline", baseline)
	if code != 1 || !strings.Contains(out, "1 new secret(s) found (3 more in the baseline)") || !strings.Contains(out, "app/new.env:1:7") {
		t.Fatalf("new secret: exit %d\n%s", code, out)
	}
	// Updating again without changes leaves the file byte-identical.
	secretsCLI(t, "", dir, "--baseline", baseline, "--update-baseline")
	before, _ := os.ReadFile(baseline)
	t.Setenv("SOURCE_DATE_EPOCH", "1767312000")
	secretsCLI(t, "", dir, "--baseline", baseline, "--update-baseline")
	after, _ := os.ReadFile(baseline)
	if !bytes.Equal(before, after) {
		t.Errorf("unchanged results rewrote the baseline")
	}
}

// TestSecretsBadInput: bad config, baseline or flags exit 2 with a position.
func TestSecretsBadInput(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gitleaks.toml")
	os.WriteFile(cfg, []byte("[[rules]]\nid = \"x\"\nregex = '''(oops'''\n"), 0o644)
	code, _, errs := secretsCLI(t, "", dir, "--config", cfg)
	if code != 2 || !strings.Contains(errs, "gitleaks.toml:2: rule x: bad regex") {
		t.Errorf("bad config: exit %d: %s", code, errs)
	}
	bl := filepath.Join(dir, ".secrets.baseline")
	os.WriteFile(bl, []byte("{\n  \"results\": {\n    \"a\": [\n  }\n"), 0o644)
	code, _, errs = secretsCLI(t, "", dir, "--baseline", bl)
	if code != 2 || !strings.Contains(errs, ".secrets.baseline:4:3:") {
		t.Errorf("bad baseline: exit %d: %s", code, errs)
	}
	code, _, errs = secretsCLI(t, "", filepath.Join(dir, "missing"))
	if code != 2 {
		t.Errorf("missing path: exit %d: %s", code, errs)
	}
	code, _, _ = secretsCLI(t, "", "--stdin", "--git", "HEAD")
	if code != 2 {
		t.Errorf("--stdin --git: exit %d", code)
	}
}

// TestSecretsConfigExtend: a team's gitleaks config with [extend] useDefault
// adds a rule to the built-in ones.
func TestSecretsConfigExtend(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := secretsProject(t)
	cfg := filepath.Join(t.TempDir(), "gitleaks.toml")
	os.WriteFile(cfg, []byte("[extend]\nuseDefault = true\n\n[[rules]]\nid = \"acme-key\"\nregex = '''acme_[a-z0-9]{16}'''\nkeywords = [\"acme_\"]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "acme.txt"), []byte("key: acme_0123456789abcdef\n"), 0o644)
	code, out, _ := secretsCLI(t, "", dir, "--config", cfg, "--json")
	if code != 1 || !strings.Contains(out, `"rule": "acme-key"`) || !strings.Contains(out, `"rule": "github-pat"`) {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// TestSecretsGitFlag: --git takes its range as the next argument (as the
// built-in action passes inputs), and PATH names the repository.
func TestSecretsGitFlag(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(dir, "a.env"), []byte("x=1\nTOKEN="+cliPAT+"\n"), 0o644)
	run("add", ".")
	run("commit", "-q", "-m", "oops")
	os.Remove(filepath.Join(dir, "a.env"))
	run("commit", "-q", "-am", "remove")
	code, out, errs := secretsCLI(t, "", "--git", "HEAD", dir)
	if code != 1 || !strings.Contains(out, "a.env:2:7") || !strings.Contains(out, "by Ada") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = secretsCLI(t, "", dir)
	if code != 0 {
		t.Errorf("working tree is clean now: exit %d\n%s", code, out)
	}
}
