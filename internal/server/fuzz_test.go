package server

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzTriggerFor: any delivery body reads into a trigger or an error,
// never a panic.
func FuzzTriggerFor(f *testing.F) {
	for _, s := range []string{
		`{"ref":"refs/heads/main","repository":{"full_name":"acme/app"}}`,
		`{"ref":"refs/tags/v1","deleted":true}`,
		`{"ref":"main","workflow":"deploy.yml","inputs":{"a":1,"b":[1,2],"c":null}}`,
		`{"action":"opened","number":3,"pull_request":{"head":{"ref":"f","sha":"x"},"base":{"ref":"main"}}}`,
		`[]`, `null`, `{"inputs":"x","ref":5}`,
	} {
		for _, ev := range []string{"push", "workflow_dispatch", "pull_request"} {
			f.Add(ev, []byte(s))
		}
	}
	repo := &Repo{Name: "acme/app", Path: "."}
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		tr, err := triggerFor(repo, event, body)
		if err == nil && tr != nil && tr.repo != repo {
			t.Fatal("trigger lost its repository")
		}
	})
}

// FuzzLoadConfig: any server.yml loads or fails with an error, never a panic.
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte("max_concurrent: 2\nrepositories:\n  - name: a/b\n    path: .\nenvironments:\n  production:\n    reviewers: [alice, \"team:sre\"]\n    timeout: 1h\n"))
	f.Add([]byte("environments:\n  staging:\n"))
	f.Add([]byte("secure_cookies: maybe\n"))
	f.Add([]byte("repositories: [{name: x}]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "server.yml")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(p)
		if err == nil && c.MaxConcurrent <= 0 {
			t.Fatal("a loaded config without a positive max_concurrent")
		}
	})
}
