package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnvironmentGate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "environments.yml")
	os.WriteFile(path, []byte("teams: {release: [bob]}\nenvironments:\n  production:\n    reviewers: [releaser, \"team:release\"]\n    prevent_self_review: true\n    branches: [main]\n  staging: {}\n"), 0o644)
	rules, err := loadEnvironmentRules(path, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		approve         []string
		approver, actor string
		ref             string
		env             string
		want            string // "" allowed, else part of the error
	}{
		{nil, "", "dev", "refs/heads/main", "staging", ""},
		{nil, "", "dev", "refs/heads/main", "qa", ""},
		{nil, "releaser", "dev", "refs/heads/main", "production", "needs a review by releaser, team:release"},
		{[]string{"production"}, "releaser", "dev", "refs/heads/main", "production", ""},
		{[]string{"production"}, "bob", "dev", "refs/heads/main", "production", ""},
		{[]string{"production"}, "mallory", "dev", "refs/heads/main", "production", "mallory is not a reviewer"},
		{[]string{"production"}, "releaser", "releaser", "refs/heads/main", "production", "prevent_self_review"},
		{[]string{"production"}, "releaser", "dev", "refs/heads/feature", "production", "may not deploy"},
		{[]string{"production"}, "", "dev", "refs/heads/main", "production", "needs --approver"},
	}
	for _, c := range cases {
		err := environmentGate(rules, c.approve, c.approver, c.actor, c.ref, io.Discard)(ctx, "deploy", c.env)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v, want allowed", c, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: %v, want an error with %q", c, err, c.want)
		}
	}
	if _, err := loadEnvironmentRules(filepath.Join(t.TempDir(), "none.yml"), false); err != nil {
		t.Errorf("a missing default file: %v", err)
	}
	if _, err := loadEnvironmentRules(filepath.Join(t.TempDir(), "none.yml"), true); err == nil {
		t.Error("a missing --environments file: no error")
	}
	os.WriteFile(path, []byte("environments:\n  production:\n    reviewer: [x]\n"), 0o644)
	if _, err := loadEnvironmentRules(path, true); err == nil || !strings.Contains(err.Error(), "reviewer") {
		t.Errorf("unknown key: %v", err)
	}
}
