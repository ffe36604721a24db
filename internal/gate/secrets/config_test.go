package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gitleaksLayout recreates the folders gitleaks' test configs expect (their
// [extend] paths are relative to gitleaks' cmd/ folder) and moves into it.
func gitleaksLayout(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("testdata/gitleaks/config")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tmp, "cmd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(tmp, "testdata", "config")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(tmp, "cmd"))
	return filepath.Join(tmp, "testdata", "config")
}

// TestGitleaksConfigs reads gitleaks' own test configs: every valid one
// compiles, every invalid one is an error that names the file.
func TestGitleaksConfigs(t *testing.T) {
	dir := gitleaksLayout(t)
	valid, _ := filepath.Glob(filepath.Join(dir, "valid", "*.toml"))
	invalid, _ := filepath.Glob(filepath.Join(dir, "invalid", "*.toml"))
	top, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
	if len(valid) < 20 || len(invalid) < 10 {
		t.Fatalf("testdata missing: %d valid, %d invalid", len(valid), len(invalid))
	}
	// Bases only make sense under the config that extends them (gitleaks
	// fails on them alone too), and a rule with neither regex nor path is an
	// error for gitleaks' CLI as for us.
	notAlone := map[string]bool{"extend_base_1.toml": true, "extend_base_2.toml": true, "extend_rule_new.toml": true}
	for _, p := range append(valid, top...) {
		if notAlone[filepath.Base(p)] {
			continue
		}
		if _, err := LoadConfig(p); err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
	}
	for _, p := range invalid {
		_, err := LoadConfig(p)
		if err == nil {
			t.Errorf("%s: want an error", filepath.Base(p))
			continue
		}
		if !strings.Contains(err.Error(), filepath.Base(p)) {
			t.Errorf("%s: error does not name the file: %v", filepath.Base(p), err)
		}
	}
}

// TestConfigSemantics checks what gitleaks' configs mean: extend merges,
// disabled rules, targeted allowlists, AND conditions.
func TestConfigSemantics(t *testing.T) {
	dir := gitleaksLayout(t)
	load := func(name string) *Config {
		t.Helper()
		c, err := LoadConfig(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rule := func(c *Config, id string) *Rule {
		for _, r := range c.Rules {
			if r.ID == id {
				return r
			}
		}
		return nil
	}
	c := load("valid/extend.toml")
	if rule(c, "aws-secret-key") == nil || rule(c, "aws-access-key") == nil {
		t.Errorf("extend.toml: want rules from both files, got %d rules", len(c.Rules))
	}
	c = load("valid/extend_disabled.toml")
	for _, r := range c.Rules {
		if r.ID == "custom-rule1" {
			t.Errorf("extend_disabled.toml: disabled rule %s still present", r.ID)
		}
	}
	c = load("valid/allowlist_global_target_rules.toml")
	if r := rule(c, "github-app-token"); r == nil || len(r.Allowlists) == 0 {
		t.Errorf("targetRules allowlist not attached to github-app-token")
	}
	c = load("valid/allowlist_rule_extend_default.toml")
	if len(c.Rules) < 200 {
		t.Errorf("useDefault: want the built-in rules, got %d", len(c.Rules))
	}
}

// TestConfigErrorPosition: a bad regex is reported at the rule's line, a
// TOML syntax error at its line and column.
func TestConfigErrorPosition(t *testing.T) {
	_, err := ParseConfig([]byte("title = \"x\"\n\n[[rules]]\nid = \"bad\"\nregex = '''(unclosed'''\n"), "my.toml")
	if err == nil || !strings.HasPrefix(err.Error(), "my.toml:4: rule bad: bad regex") {
		t.Errorf("bad regex: got %v", err)
	}
	_, err = ParseConfig([]byte("title = \"x\"\n[[rules]\n"), "my.toml")
	if err == nil || !strings.HasPrefix(err.Error(), "my.toml:3:8: expected end of table array name") {
		t.Errorf("syntax error: got %v", err)
	}
	_, err = ParseConfig([]byte("[[rules]]\nid = \"a\"\nregex = 'a(b)'\nsecretGroup = 3\n"), "my.toml")
	if err == nil || !strings.Contains(err.Error(), "secret group 3") {
		t.Errorf("secret group: got %v", err)
	}
}

// TestDefaultRulesCoverGitleaks: every rule of gitleaks v8.30.1's default
// config is in the built-in set, with the same regex, keywords and entropy.
func TestDefaultRulesCoverGitleaks(t *testing.T) {
	data, err := os.ReadFile("testdata/gitleaks-v8.30.1.toml")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := ParseConfig(data, "gitleaks-v8.30.1.toml")
	if err != nil {
		t.Fatal(err)
	}
	ours, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Rule{}
	for _, r := range ours.Rules {
		byID[r.ID] = r
	}
	for _, r := range theirs.Rules {
		o := byID[r.ID]
		switch {
		case o == nil:
			t.Errorf("rule %s missing", r.ID)
		case (o.Regex == nil) != (r.Regex == nil) || (o.Regex != nil && o.Regex.String() != r.Regex.String()):
			t.Errorf("rule %s: regex differs", r.ID)
		case o.Entropy != r.Entropy || strings.Join(o.Keywords, ",") != strings.Join(r.Keywords, ","):
			t.Errorf("rule %s: entropy or keywords differ", r.ID)
		}
	}
	if len(ours.Allowlists) < len(theirs.Allowlists) {
		t.Errorf("global allowlists: %d < gitleaks' %d", len(ours.Allowlists), len(theirs.Allowlists))
	}
	if len(theirs.Rules) != 222 {
		t.Errorf("gitleaks v8.30.1 has 222 rules, read %d", len(theirs.Rules))
	}
}
