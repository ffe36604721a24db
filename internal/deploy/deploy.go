// Package deploy puts a new version in front of real traffic step by step,
// watches it, and promotes it or rolls it back on its own.
//
// A Provider runs versions somewhere: local (replicas of a command on
// loopback ports behind a weighted reverse proxy, kept by a detached
// supervisor), kubernetes (Deployments through client-go) or command (the
// user's scripts). Rollout drives a provider through a plan:
//
//  1. preflight: the analysis queries run once (an invalid query or an
//     unreachable Prometheus stops here, before anything moves);
//  2. the new version starts beside the stable one with no traffic and
//     must become healthy;
//  3. each step (canary: 10, 50, 100 by default; rolling: one replica's
//     share at a time) moves that share of traffic, pauses, runs the smoke
//     checks and the analysis;
//  4. all steps passed: the new version is promoted and the old retired;
//     any failure aborts the new version (the stable one never stopped
//     serving) and the deployment is recorded as failed with the reason.
//
// Every attempt is a store.Deployment record; DORA metrics are computed
// from those records (dora.go).
package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/analysis"
	"github.com/shipgate/shipgate/internal/store"
)

// Release is what to deploy.
type Release struct {
	// Version names the release (required).
	Version string `json:"version"`
	// Command starts one replica (local provider), run by sh -c with PORT,
	// SERVICE_VERSION and SHIPGATE_TRACK set.
	Command string `json:"command,omitempty"`
	// Image is the container image (kubernetes provider).
	Image string `json:"image,omitempty"`
	// Env is extra environment for the replicas.
	Env map[string]string `json:"env,omitempty"`
	// Replicas is the number of replicas (default 2).
	Replicas int `json:"replicas,omitempty"`
	// HealthPath is polled for readiness (default /health).
	HealthPath string `json:"healthPath,omitempty"`
	// HealthTimeout bounds the wait for readiness (default 30s).
	HealthTimeout time.Duration `json:"healthTimeout,omitempty"`
}

func (r *Release) defaults() {
	if r.Replicas <= 0 {
		r.Replicas = 2
	}
	if r.HealthPath == "" {
		r.HealthPath = "/health"
	}
	if r.HealthTimeout <= 0 {
		r.HealthTimeout = 30 * time.Second
	}
}

// Status describes what runs in an environment.
type Status struct {
	Env      string `json:"env"`
	Provider string `json:"provider"`
	// URL is where users reach the service (local: the proxy).
	URL string `json:"url,omitempty"`
	// Stable is the version serving; Canary the one being rolled out.
	Stable *Track `json:"stable,omitempty"`
	Canary *Track `json:"canary,omitempty"`
	// Weight is the canary's share of traffic in percent.
	Weight int `json:"weight"`
	// Previous is the version before Stable (what a manual rollback
	// returns to).
	Previous string `json:"previous,omitempty"`
	// Running says whether the provider's own process (local: the
	// supervisor) is alive.
	Running bool `json:"running"`
	// Detail is provider-specific text.
	Detail string `json:"detail,omitempty"`
}

// Track is one version's replicas.
type Track struct {
	Version  string    `json:"version"`
	Replicas []Replica `json:"replicas"`
}

// Ready is the number of healthy replicas.
func (t *Track) Ready() int {
	n := 0
	for _, r := range t.Replicas {
		if r.Healthy {
			n++
		}
	}
	return n
}

// Replica is one running instance.
type Replica struct {
	Name     string `json:"name"`
	Addr     string `json:"addr,omitempty"`
	PID      int    `json:"pid,omitempty"`
	Healthy  bool   `json:"healthy"`
	Restarts int    `json:"restarts"`
}

// Provider runs versions of a service in environments. Deploy starts a
// version with no traffic (or, when nothing runs yet, as the stable
// version); SetWeight moves a share of traffic to it; Promote makes it the
// stable version; Abort removes it while the stable version keeps serving;
// Rollback (by hand) returns to the version before the stable one.
type Provider interface {
	Name() string
	Status(ctx context.Context, env string) (*Status, error)
	Deploy(ctx context.Context, env string, rel Release) error
	SetWeight(ctx context.Context, env string, percent int) error
	Promote(ctx context.Context, env string) error
	Abort(ctx context.Context, env string) error
	Rollback(ctx context.Context, env string) error
}

// ParseSteps reads "10,50,100": increasing percentages ending at 100.
func ParseSteps(s string) ([]int, error) {
	var steps []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "%"))
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n > 100 {
			return nil, fmt.Errorf("steps %q: %q is not a percentage from 1 to 100", s, f)
		}
		if len(steps) > 0 && n <= steps[len(steps)-1] {
			return nil, fmt.Errorf("steps %q: each step must be larger than the one before", s)
		}
		steps = append(steps, n)
	}
	if len(steps) == 0 || steps[len(steps)-1] != 100 {
		steps = append(steps, 100)
	}
	return steps, nil
}

// RollingSteps are a rolling update's steps: one replica's share at a time.
func RollingSteps(replicas int) []int {
	if replicas <= 0 {
		replicas = 1
	}
	steps := make([]int, replicas)
	for i := range steps {
		steps[i] = (i + 1) * 100 / replicas
	}
	steps[replicas-1] = 100
	return steps
}

// Plan is one rollout.
type Plan struct {
	Env      string
	Release  Release
	Strategy string // canary (default) or rolling
	Steps    []int
	// Pause is waited at each step before the checks (traffic builds up).
	Pause time.Duration
	// Analysis, with Querier, is run at each step; nil skips analysis.
	Analysis *analysis.Spec
	Querier  analysis.Querier
	// Smoke checks run at each step and after promotion.
	Smoke []Check
	// SmokeBase is the base URL for relative smoke check URLs; empty uses
	// the provider's Status URL.
	SmokeBase string
	// Record facts.
	Commit     string
	CommitTime time.Time
	ApprovedBy string
}

// StepResult is what happened at one step.
type StepResult struct {
	Weight   int              `json:"weight"`
	Started  time.Time        `json:"started"`
	Ended    time.Time        `json:"ended"`
	Analysis *analysis.Result `json:"analysis,omitempty"`
	Smoke    []CheckResult    `json:"smoke,omitempty"`
	Verdict  string           `json:"verdict"`
}

// Outcome is how a rollout ended.
type Outcome struct {
	ID         int64        `json:"id,omitempty"`
	Env        string       `json:"env"`
	Version    string       `json:"version"`
	Previous   string       `json:"previous,omitempty"`
	Result     string       `json:"result"` // succeeded or failed
	Reason     string       `json:"reason,omitempty"`
	RolledBack bool         `json:"rolledBack"`
	Steps      []StepResult `json:"steps"`
	Started    time.Time    `json:"started"`
	Ended      time.Time    `json:"ended"`
}

// Rollout runs plan on p, records it in deps (when not nil) and returns
// the outcome. A failed rollout is an Outcome with Result "failed", not an
// error; the error is for records that could not be written.
func Rollout(ctx context.Context, p Provider, plan Plan, deps *store.Deployments, log io.Writer) (*Outcome, error) {
	if log == nil {
		log = io.Discard
	}
	plan.Release.defaults()
	if plan.Strategy == "" {
		plan.Strategy = "canary"
	}
	if len(plan.Steps) == 0 {
		if plan.Strategy == "rolling" {
			plan.Steps = RollingSteps(plan.Release.Replicas)
		} else {
			plan.Steps = []int{10, 50, 100}
		}
	}
	out := &Outcome{Env: plan.Env, Version: plan.Release.Version, Started: time.Now()}
	before, err := p.Status(ctx, plan.Env)
	if err == nil && before != nil && before.Stable != nil {
		out.Previous = before.Stable.Version
	}
	vars := analysis.Vars{"canary": plan.Release.Version, "stable": out.Previous, "env": plan.Env}

	// The record is written first, so that a crash leaves a "running"
	// deployment behind rather than nothing.
	if deps != nil {
		out.ID, err = deps.Start(ctx, store.Deployment{Env: plan.Env, Version: plan.Release.Version, Previous: out.Previous,
			Commit: plan.Commit, CommitTime: plan.CommitTime, Provider: p.Name(), Strategy: plan.Strategy,
			Started: out.Started, ApprovedBy: plan.ApprovedBy})
		if err != nil {
			return nil, err
		}
	}
	finish := func(result, reason string) (*Outcome, error) {
		out.Result, out.Reason, out.Ended = result, reason, time.Now()
		if result == store.DeployFailed {
			fmt.Fprintf(log, "deploy %s %s: FAILED: %s\n", plan.Env, plan.Release.Version, reason)
		} else {
			fmt.Fprintf(log, "deploy %s %s: promoted\n", plan.Env, plan.Release.Version)
		}
		if deps == nil {
			return out, nil
		}
		steps, _ := json.Marshal(out.Steps)
		// The record must be written even when ctx was cancelled.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return out, deps.Finish(wctx, out.ID, result, reason, out.RolledBack, out.Ended, string(steps))
	}
	abort := func(reason string) (*Outcome, error) {
		fmt.Fprintf(log, "deploy %s: rolling back %s: %s\n", plan.Env, plan.Release.Version, reason)
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := p.Abort(actx, plan.Env); err != nil {
			reason += "; rollback failed: " + err.Error()
		} else {
			out.RolledBack = true
			if out.Previous != "" {
				reason += "; rolled back to " + out.Previous
			}
		}
		return finish(store.DeployFailed, reason)
	}

	// 1. Preflight.
	if plan.Analysis != nil {
		if plan.Querier == nil {
			return finish(store.DeployFailed, "analysis given without a Prometheus to query (--prometheus)")
		}
		if err := plan.Analysis.Preflight(ctx, plan.Querier, vars); err != nil {
			return finish(store.DeployFailed, "analysis preflight: "+err.Error())
		}
	}

	// 2. The new version, with no traffic.
	fmt.Fprintf(log, "deploy %s: starting %s (%d replicas, %s via %s)\n", plan.Env, plan.Release.Version, plan.Release.Replicas, plan.Strategy, p.Name())
	if err := p.Deploy(ctx, plan.Env, plan.Release); err != nil {
		return abort("start " + plan.Release.Version + ": " + err.Error())
	}
	first := out.Previous == ""
	if first {
		// Nothing ran before: there is no traffic to shift and nothing to
		// compare with; the smoke checks decide.
		sr := StepResult{Weight: 100, Started: time.Now()}
		sr.Smoke, err = runSmoke(ctx, p, plan)
		sr.Ended = time.Now()
		sr.Verdict = verdictOf(err, nil)
		out.Steps = append(out.Steps, sr)
		if err != nil {
			return abort(err.Error())
		}
		if err := p.Promote(ctx, plan.Env); err != nil {
			return abort("promote: " + err.Error())
		}
		return finish(store.DeploySucceeded, "first deployment")
	}

	// 3. Steps.
	for _, w := range plan.Steps {
		if err := ctx.Err(); err != nil {
			return abort("cancelled: " + err.Error())
		}
		sr := StepResult{Weight: w, Started: time.Now()}
		fmt.Fprintf(log, "deploy %s: step %d%% to %s\n", plan.Env, w, plan.Release.Version)
		if err := p.SetWeight(ctx, plan.Env, w); err != nil {
			sr.Ended, sr.Verdict = time.Now(), "Error"
			out.Steps = append(out.Steps, sr)
			return abort(fmt.Sprintf("step %d%%: %v", w, err))
		}
		if plan.Pause > 0 {
			t := time.NewTimer(plan.Pause)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		var smokeErr error
		sr.Smoke, smokeErr = runSmoke(ctx, p, plan)
		if smokeErr == nil && plan.Analysis != nil {
			sr.Analysis = plan.Analysis.Run(ctx, plan.Querier, analysis.Options{Vars: vars,
				Progress: func(metric string, m analysis.Measurement) {
					fmt.Fprintf(log, "  analysis %s: %s %s\n", metric, m.Verdict, m.Message)
				}})
		}
		sr.Ended = time.Now()
		sr.Verdict = verdictOf(smokeErr, sr.Analysis)
		out.Steps = append(out.Steps, sr)
		if smokeErr != nil {
			return abort(fmt.Sprintf("step %d%%: %v", w, smokeErr))
		}
		if sr.Analysis != nil && sr.Analysis.Verdict != analysis.Successful {
			return abort(fmt.Sprintf("step %d%%: analysis %s: %s", w, strings.ToLower(string(sr.Analysis.Verdict)), sr.Analysis.Reason()))
		}
	}

	// 4. Promote, then check once more.
	if err := p.Promote(ctx, plan.Env); err != nil {
		return abort("promote: " + err.Error())
	}
	final := StepResult{Weight: 100, Started: time.Now()}
	final.Smoke, err = runSmoke(ctx, p, plan)
	final.Ended, final.Verdict = time.Now(), verdictOf(err, nil)
	out.Steps = append(out.Steps, final)
	if err != nil {
		// The old version is retired: going back is a manual rollback.
		reason := "after promotion: " + err.Error()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if rerr := p.Rollback(rctx, plan.Env); rerr != nil {
			reason += "; rollback failed: " + rerr.Error()
		} else {
			out.RolledBack = true
			reason += "; rolled back to " + out.Previous
		}
		return finish(store.DeployFailed, reason)
	}
	return finish(store.DeploySucceeded, "")
}

func verdictOf(smoke error, a *analysis.Result) string {
	if smoke != nil {
		return string(analysis.Failed)
	}
	if a != nil {
		return string(a.Verdict)
	}
	return string(analysis.Successful)
}

// ErrNothingDeployed is returned for an environment where nothing runs.
var ErrNothingDeployed = errors.New("nothing is deployed")
