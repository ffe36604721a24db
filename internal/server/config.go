package server

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/shipgate/shipgate/internal/notify"
)

// Config is server.yml.
//
//	max_concurrent: 4            # runs at once on this server (each replica)
//	max_attempts: 3              # a run whose server died mid-job is retried up to this many attempts
//	base_url: http://127.0.0.1:8080
//	secure_cookies: auto         # always, never, auto (Secure when the request is HTTPS)
//	teams: {sre: [alice, bob]}
//	repositories:
//	  - name: acme/app
//	    path: /srv/app           # a local checkout; workflows are read from .github/workflows
//	    # or url: https://git.example/acme/app.git  (cloned into the state folder; runs get worktrees)
//	    webhook_secret_env: APP_WEBHOOK_SECRET
//	    max_concurrent: 1
//	    secrets_file: /etc/shipgate/app.secrets   # dotenv, never logged
//	    notify:
//	      - {kind: slack, url: https://hooks.slack.com/services/..., on: [run_failed, approval_requested]}
//	      - {kind: webhook, url: https://ops.example/hook, secret_env: HOOK_SECRET}
//	environments:
//	  production:
//	    reviewers: [alice, "team:sre"]
//	    prevent_self_review: true
//	    wait_timer: 0s
//	    timeout: 24h
//	    branches: [main, "refs/tags/v*"]
//	    checklist: [Release notes reviewed, Tests verified, Security scan passed]
type Config struct {
	MaxConcurrent int                     `yaml:"max_concurrent"`
	BaseURL       string                  `yaml:"base_url"`
	SecureCookies string                  `yaml:"secure_cookies"`
	Teams         map[string][]string     `yaml:"teams"`
	Repositories  []*Repo                 `yaml:"repositories"`
	Environments  map[string]*Environment `yaml:"environments"`
	// LoginAttempts failed logins per minute per client address and per
	// user name (default 5); more are refused with 429.
	LoginAttempts int `yaml:"login_attempts"`
	// MaxAttempts bounds the attempts of a run whose server (or replica)
	// died while a job ran: another takes it over and runs it again, jobs
	// that had finished reused, until this many attempts (default 3);
	// then it is marked interrupted. 1: never run a job again.
	MaxAttempts int `yaml:"max_attempts"`
}

// Repo is one repository the server runs workflows for.
type Repo struct {
	Name string `yaml:"name"`
	Path string `yaml:"path"`
	// URL is a clone URL reachable from the server (https, ssh, file or
	// a path to a repository), instead of Path.
	URL              string          `yaml:"url"`
	WebhookSecret    string          `yaml:"webhook_secret"`
	WebhookSecretEnv string          `yaml:"webhook_secret_env"`
	MaxConcurrent    int             `yaml:"max_concurrent"`
	SecretsFile      string          `yaml:"secrets_file"`
	Notify           []*NotifyTarget `yaml:"notify"`
}

// NotifyTarget is a notify.Target whose secret may come from the environment.
type NotifyTarget struct {
	notify.Target `yaml:",inline"`
	SecretEnv     string `yaml:"secret_env"`
	URLEnv        string `yaml:"url_env"`
}

// Environment holds a deployment environment's protection rules.
type Environment struct {
	// Reviewers are user names or "team:<name>"; any one of them may
	// decide. Empty: any approver or admin.
	Reviewers         []string      `yaml:"reviewers"`
	PreventSelfReview bool          `yaml:"prevent_self_review"`
	WaitTimer         time.Duration `yaml:"wait_timer"`
	Timeout           time.Duration `yaml:"timeout"`
	// Branches are glob patterns over the branch or tag name, or the
	// full ref (refs/tags/v*); empty allows every ref.
	Branches  []string `yaml:"branches"`
	Checklist []string `yaml:"checklist"`
}

// LoadConfig reads and checks server.yml.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := decodeYAML(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %s", path, err)
	}
	base := filepath.Dir(path)
	for i, r := range c.Repositories {
		if r == nil {
			return nil, fmt.Errorf("%s: repositories[%d] is empty", path, i)
		}
		if r.Path != "" && !filepath.IsAbs(r.Path) {
			r.Path = filepath.Join(base, r.Path)
		}
		if r.SecretsFile != "" && !filepath.IsAbs(r.SecretsFile) {
			r.SecretsFile = filepath.Join(base, r.SecretsFile)
		}
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

func (c *Config) check() error {
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 4
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.LoginAttempts <= 0 {
		c.LoginAttempts = 5
	}
	switch c.SecureCookies {
	case "", "auto", "always", "never":
	default:
		return fmt.Errorf("secure_cookies: %q (want auto, always or never)", c.SecureCookies)
	}
	seen := map[string]bool{}
	for i, r := range c.Repositories {
		if r.Name == "" {
			return fmt.Errorf("repositories[%d]: name is required", i)
		}
		if seen[r.Name] {
			return fmt.Errorf("repositories[%d]: %s is listed twice", i, r.Name)
		}
		seen[r.Name] = true
		switch {
		case r.URL != "" && r.Path != "":
			return fmt.Errorf("repositories[%d] %s: give path or url, not both", i, r.Name)
		case r.URL != "":
			// cloned into the server's state folder (server.New sets Path)
		default:
			if st, err := os.Stat(r.Path); err != nil || !st.IsDir() {
				return fmt.Errorf("repositories[%d] %s: path %q is not a folder", i, r.Name, r.Path)
			}
		}
		if r.MaxConcurrent <= 0 {
			r.MaxConcurrent = 1
		}
		if r.WebhookSecretEnv != "" {
			r.WebhookSecret = os.Getenv(r.WebhookSecretEnv)
		}
		for j, n := range r.Notify {
			if n == nil {
				return fmt.Errorf("repositories[%d].notify[%d] is empty", i, j)
			}
			if n.SecretEnv != "" {
				n.Secret = os.Getenv(n.SecretEnv)
			}
			if n.URLEnv != "" {
				n.URL = os.Getenv(n.URLEnv)
			}
		}
	}
	for name, e := range c.Environments {
		if e == nil {
			c.Environments[name] = &Environment{}
		}
	}
	return nil
}

// Repo returns the repository by name, or nil.
func (c *Config) Repo(name string) *Repo {
	for _, r := range c.Repositories {
		if strings.EqualFold(r.Name, name) {
			return r
		}
	}
	return nil
}

// CanReview reports whether user may decide for the environment (besides
// the role and self-review checks).
func (c *Config) CanReview(e *Environment, user string) bool {
	if len(e.Reviewers) == 0 {
		return true
	}
	for _, r := range e.Reviewers {
		if team, ok := strings.CutPrefix(r, "team:"); ok {
			if slices.Contains(c.Teams[team], user) {
				return true
			}
		} else if r == user {
			return true
		}
	}
	return false
}

// RefAllowed reports whether a ref may deploy to the environment.
func (e *Environment) RefAllowed(ref string) bool {
	if len(e.Branches) == 0 {
		return true
	}
	name := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/")
	for _, p := range e.Branches {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
		if ok, _ := filepath.Match(p, ref); ok {
			return true
		}
	}
	return false
}

// decodeYAML decodes strictly; a panic inside the YAML library (found by
// FuzzLoadConfig, testdata/fuzz) is an error, not a crash.
func decodeYAML(b []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot parse the YAML (%v)", r)
		}
	}()
	if err := yaml.UnmarshalWithOptions(b, v, yaml.Strict()); err != nil {
		return fmt.Errorf("%s", yaml.FormatError(err, false, true))
	}
	return nil
}
