package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/shipgate/shipgate/internal/server"
)

// defaultEnvironmentsFile holds a repository's environment protection rules
// for `shipgate run` (the `environments:` and `teams:` blocks of server.yml).
const defaultEnvironmentsFile = ".github/environments.yml"

// environmentRules is .github/environments.yml:
//
//	teams: {release: [alice, bob]}
//	environments:
//	  production:
//	    reviewers: [releaser, "team:release"]
//	    prevent_self_review: true
//	    branches: [main]
type environmentRules struct {
	Teams        map[string][]string            `yaml:"teams"`
	Environments map[string]*server.Environment `yaml:"environments"`
}

// loadEnvironmentRules reads the rules file; a missing default file means
// no protected environment.
func loadEnvironmentRules(path string, explicit bool) (*environmentRules, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return &environmentRules{}, nil
	}
	if err != nil {
		return nil, err
	}
	var r environmentRules
	if err := yaml.UnmarshalWithOptions(b, &r, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%s: %s", path, yaml.FormatError(err, false, true))
	}
	return &r, nil
}

// environmentGate is engine.Options.EnvironmentGate for `shipgate run`: a
// job whose environment is protected runs only when the command line
// approves it (--approve ENV) by one of its reviewers (--approver NAME),
// from an allowed branch, and not by the actor who triggered the run when
// prevent_self_review is set. The decision is printed to w.
func environmentGate(rules *environmentRules, approve []string, approver, actor, ref string, w io.Writer) func(ctx context.Context, jobID, env string) error {
	cfg := &server.Config{Teams: rules.Teams, Environments: rules.Environments}
	return func(ctx context.Context, jobID, env string) error {
		err := checkApproval(cfg, rules.Environments[env], env, approve, approver, actor, ref)
		switch {
		case errors.Is(err, errUnprotected):
			return nil
		case err != nil:
			// The engine records the reason in the job's log; say it here too.
			fmt.Fprintf(w, "shipgate: job %s: environment %s: %v\n", jobID, env, err)
			return err
		}
		fmt.Fprintf(w, "shipgate: job %s: environment %s approved by %s (--approve)\n", jobID, env, approver)
		return nil
	}
}

var errUnprotected = errors.New("unprotected")

// checkApproval decides one protected environment (errUnprotected: no rules).
func checkApproval(cfg *server.Config, e *server.Environment, env string, approve []string, approver, actor, ref string) error {
	if e == nil || len(e.Reviewers) == 0 && !e.PreventSelfReview && len(e.Branches) == 0 {
		return errUnprotected
	}
	if !e.RefAllowed(ref) {
		return fmt.Errorf("%s may not deploy to it (allowed: %s)", ref, strings.Join(e.Branches, ", "))
	}
	reviewers := slices.Clone(e.Reviewers)
	sort.Strings(reviewers)
	if !slices.Contains(approve, env) {
		return fmt.Errorf("needs a review by %s: run with --approve %s --approver NAME, or on 'shipgate serve' to approve it there",
			strings.Join(reviewers, ", "), env)
	}
	if approver == "" {
		return fmt.Errorf("--approve needs --approver NAME (one of %s)", strings.Join(reviewers, ", "))
	}
	if len(e.Reviewers) > 0 && !cfg.CanReview(e, approver) {
		return fmt.Errorf("%s is not a reviewer (reviewers: %s)", approver, strings.Join(reviewers, ", "))
	}
	if e.PreventSelfReview && approver == actor {
		return fmt.Errorf("%s triggered this run and may not approve it (prevent_self_review)", approver)
	}
	return nil
}

// environmentsPath resolves --environments against the workspace.
func environmentsPath(ws, flag string) (string, bool) {
	if flag == "" {
		return filepath.Join(ws, defaultEnvironmentsFile), false
	}
	return flag, true
}
