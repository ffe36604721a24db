package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipgate/shipgate/internal/analysis"
	"github.com/shipgate/shipgate/internal/deploy"
	"github.com/shipgate/shipgate/internal/store"
)

// providerFlags choose and configure a deploy provider.
type providerFlags struct {
	provider string
	storeDir string
	listen   string
	// kubernetes
	kubeconfig, namespace, deployment, container, kubeContext string
	// command
	deployScript, weightScript, promoteScript, abortScript, rollbackScript, statusScript string
}

func (f *providerFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.provider, "provider", "local", "where to deploy: local, kubernetes or command")
	fl.StringVar(&f.storeDir, "store", store.DefaultDir, "store `DIR` (deployment records; local state in DIR/deploy)")
	fl.StringVar(&f.listen, "listen", "", "local: the proxy's `ADDR` for a new environment (default a free loopback port, kept)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubernetes: kubeconfig `FILE` (default $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&f.kubeContext, "context", "", "kubernetes: kubeconfig context")
	fl.StringVar(&f.namespace, "namespace", "default", "kubernetes: namespace")
	fl.StringVar(&f.deployment, "deployment", "", "kubernetes: the stable Deployment's `NAME` (the canary is NAME-canary)")
	fl.StringVar(&f.container, "container", "", "kubernetes: the container whose image is set (default the first)")
	fl.StringVar(&f.deployScript, "deploy-script", "", "command: script that deploys $SHIPGATE_VERSION")
	fl.StringVar(&f.weightScript, "weight-script", "", "command: script that sends $SHIPGATE_WEIGHT% to the canary (default the deploy script)")
	fl.StringVar(&f.promoteScript, "promote-script", "", "command: script that promotes the canary")
	fl.StringVar(&f.abortScript, "abort-script", "", "command: script that removes the canary (default the rollback script)")
	fl.StringVar(&f.rollbackScript, "rollback-script", "", "command: script that returns to $SHIPGATE_PREVIOUS")
	fl.StringVar(&f.statusScript, "status-script", "", "command: script that prints the status (JSON or text)")
}

func (f *providerFlags) build(a *app) (deploy.Provider, error) {
	dir := filepath.Join(f.storeDir, "deploy")
	switch f.provider {
	case "local":
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		return &deploy.Local{Dir: dir, Listen: f.listen, Spawn: deploy.SpawnDetached(exe)}, nil
	case "kubernetes":
		if f.deployment == "" {
			return nil, usageError("--provider kubernetes needs --deployment NAME")
		}
		return deploy.NewKubernetesFromConfig(f.kubeconfig, f.kubeContext, f.namespace, f.deployment, f.container)
	case "command":
		return &deploy.Command{Dir: dir, DeployScript: f.deployScript, WeightScript: f.weightScript,
			PromoteScript: f.promoteScript, AbortScript: f.abortScript, RollbackScript: f.rollbackScript,
			StatusScript: f.statusScript, Output: a.stderr}, nil
	}
	return nil, usageError("--provider %q: want local, kubernetes or command", f.provider)
}

func envArg(args []string, flag string) (string, error) {
	switch {
	case len(args) == 1 && flag != "" && args[0] != flag:
		return "", usageError("environment given twice: %q and --env %q", args[0], flag)
	case len(args) == 1:
		return args[0], nil
	case flag != "":
		return flag, nil
	}
	return "", usageError("which environment? give it as an argument (shipgate deploy production ...) or --env")
}

func (a *app) deployCmd() *cobra.Command {
	var (
		pf                              providerFlags
		env, ver, command, image        string
		replicas                        int
		strategy, steps                 string
		pause, healthTimeout            time.Duration
		analysisFile, promURL, smokeArg string
		noSmoke, jsonOut                bool
		sets                            []string
		commit, approvedBy, pushgateway string
		healthPath                      string
	)
	c := &cobra.Command{
		Use:   "deploy [ENV]",
		Short: "Roll out a version step by step, analysed against Prometheus, with automatic rollback",
		Long: `deploy starts VERSION beside the version serving ENV, moves traffic to it
step by step (canary: --steps, default 10,50,100; rolling: one replica's
share at a time), and at each step pauses, runs the smoke checks and the
analysis (--analysis, PromQL with Argo Rollouts' thresholds, against
--prometheus). Any failure rolls back at once: the stable version never
stopped serving. Every attempt is recorded in the store (deploy history,
dora).

Providers: local (the default) runs --replicas copies of --command on
loopback ports behind a weighted reverse proxy, kept by a detached
supervisor that outlives this command; kubernetes sets a Deployment's image
through a NAME-canary Deployment; command runs your scripts.

Exit codes: 0 promoted, 1 rolled back or failed, 2 bad usage or input.`,
		Example: `  # a first version, then a canary of the next one
  shipgate deploy staging --version 1.0.0 --command 'examples/erlang-service/bin/erlsvc-run'
  shipgate deploy production --version 1.1.0 --command ./bin/svc \
      --strategy canary --steps 10,50,100 --pause 10s \
      --analysis analysis.yml --prometheus http://127.0.0.1:9090
  shipgate deploy status production
  shipgate deploy history --json
  shipgate deploy rollback production`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := envArg(args, env)
			if err != nil {
				return err
			}
			if ver == "" {
				return usageError("--version is required")
			}
			plan := deploy.Plan{Env: env, Strategy: strategy, Pause: pause, ApprovedBy: approvedBy,
				Release: deploy.Release{Version: ver, Command: command, Image: image, Replicas: replicas,
					HealthPath: healthPath, HealthTimeout: healthTimeout, Env: map[string]string{}}}
			switch strategy {
			case "canary", "rolling":
			default:
				return usageError("--strategy %q: want canary or rolling", strategy)
			}
			if cmd.Flags().Changed("steps") || strategy == "canary" {
				if plan.Steps, err = deploy.ParseSteps(steps); err != nil {
					return usageError("%v", err)
				}
			}
			for _, s := range sets {
				k, v, ok := strings.Cut(s, "=")
				if !ok || k == "" {
					return usageError("--set %q: want NAME=VALUE", s)
				}
				plan.Release.Env[k] = v
			}
			if analysisFile != "" {
				if plan.Analysis, err = analysis.Load(analysisFile); err != nil {
					return asUsage(err)
				}
				if promURL == "" {
					return usageError("--analysis needs --prometheus URL to query")
				}
			}
			if promURL != "" {
				if plan.Querier, err = analysis.NewPrometheus(promURL); err != nil {
					return asUsage(err)
				}
			}
			switch {
			case noSmoke:
			case smokeArg != "":
				if plan.Smoke, err = deploy.LoadChecks(smokeArg); err != nil {
					return asUsage(err)
				}
			case pf.provider == "local":
				plan.Smoke = deploy.DefaultChecks()[:1] // GET /health
			}
			plan.Commit, plan.CommitTime = commitInfo(commit)
			p, err := pf.build(a)
			if err != nil {
				return asUsage(err)
			}
			db, err := store.Open(cmd.Context(), pf.storeDir)
			if err != nil {
				return asUsage(err)
			}
			defer db.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := a.stderr
			out, err := deploy.Rollout(ctx, p, plan, db.Deployments(), log)
			if err != nil {
				return err
			}
			if pushgateway != "" {
				recs, lerr := db.Deployments().List(cmd.Context(), env, time.Now().Add(-30*24*time.Hour))
				if lerr == nil {
					d := deploy.ComputeDORA(env, recs, time.Now().Add(-30*24*time.Hour), time.Now())
					if perr := d.Push(pushgateway); perr != nil {
						fmt.Fprintf(a.stderr, "shipgate: %v\n", perr)
					}
				}
			}
			if jsonOut {
				if err := writeJSON(a.stdout, out); err != nil {
					return err
				}
			} else {
				writeOutcome(a.stdout, out)
			}
			appendDeploySummary(out)
			if out.Result != store.DeploySucceeded {
				return failed(nil)
			}
			return nil
		},
	}
	fl := c.Flags()
	pf.register(c)
	fl.StringVar(&env, "env", "", "environment `NAME` (or give it as the argument)")
	fl.StringVar(&ver, "version", "", "the `VERSION` to deploy (required)")
	fl.StringVar(&command, "command", "", "local: shell `COMMAND` that runs one replica (gets PORT, SERVICE_VERSION)")
	fl.StringVar(&image, "image", "", "kubernetes: the container `IMAGE`")
	fl.IntVar(&replicas, "replicas", 2, "replicas of the new version")
	fl.StringVar(&strategy, "strategy", "canary", "canary or rolling")
	fl.StringVar(&steps, "steps", "10,50,100", "canary traffic `PERCENTAGES`, ending at 100")
	fl.DurationVar(&pause, "pause", 5*time.Second, "wait at each step before the checks")
	fl.StringVar(&analysisFile, "analysis", "", "analysis `FILE` (metrics with PromQL and thresholds)")
	fl.StringVar(&promURL, "prometheus", "", "Prometheus `URL` the analysis queries")
	fl.StringVar(&smokeArg, "smoke", "", "smoke checks `FILE` (YAML list; default for local: GET /health)")
	fl.BoolVar(&noSmoke, "no-smoke", false, "run no smoke checks")
	fl.StringArrayVar(&sets, "set", nil, "environment `NAME=VALUE` for the new version's replicas (repeatable)")
	fl.StringVar(&healthPath, "health-path", "/health", "readiness path each replica must answer")
	fl.DurationVar(&healthTimeout, "health-timeout", 30*time.Second, "how long a new replica may take to become healthy")
	fl.StringVar(&commit, "commit", "", "the deployed commit (default HEAD of the repository here, when there is one)")
	fl.StringVar(&approvedBy, "approved-by", "", "who approved this deployment (recorded)")
	fl.StringVar(&pushgateway, "pushgateway", "", "push the environment's DORA metrics to this Pushgateway `URL` afterwards")
	fl.BoolVar(&jsonOut, "json", false, "print the outcome as JSON")
	c.AddCommand(a.deployStatusCmd(), a.deployRollbackCmd(), a.deployHistoryCmd(), a.deploySuperviseCmd(), a.deployStopCmd(), a.deployProbeCmd())
	return c
}

// commitInfo returns the commit and its committer time from git (best
// effort: outside a repository both may be empty).
func commitInfo(rev string) (string, time.Time) {
	ref := rev
	if ref == "" {
		ref = "HEAD"
	}
	out, err := exec.Command("git", "show", "-s", "--format=%H %cI", ref).Output()
	if err != nil {
		return rev, time.Time{}
	}
	sha, ts, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	t, _ := time.Parse(time.RFC3339, ts)
	return sha, t
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeOutcome(w io.Writer, out *deploy.Outcome) {
	fmt.Fprintf(w, "%s %s: %s", out.Env, out.Version, strings.ToUpper(out.Result))
	if out.Previous != "" {
		fmt.Fprintf(w, " (previous %s)", out.Previous)
	}
	fmt.Fprintf(w, " in %s, record #%d\n", out.Ended.Sub(out.Started).Round(time.Millisecond), out.ID)
	for _, s := range out.Steps {
		fmt.Fprintf(w, "  step %3d%%  %-12s %s", s.Weight, s.Verdict, s.Ended.Sub(s.Started).Round(time.Millisecond))
		if s.Analysis != nil {
			for _, m := range s.Analysis.Metrics {
				if n := len(m.Measurements); n > 0 {
					fmt.Fprintf(w, "  %s=%s", m.Name, strings.TrimPrefix(m.Measurements[n-1].Message, "result "))
				}
			}
		}
		fmt.Fprintln(w)
	}
	if out.Reason != "" && out.Result != store.DeploySucceeded {
		fmt.Fprintf(w, "  reason: %s\n", out.Reason)
	}
}

func appendDeploySummary(out *deploy.Outcome) {
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "### Deploy %s %s: %s\n\n| step | verdict | time |\n|---|---|---|\n", out.Env, out.Version, out.Result)
	for _, s := range out.Steps {
		fmt.Fprintf(f, "| %d%% | %s | %s |\n", s.Weight, s.Verdict, s.Ended.Sub(s.Started).Round(time.Millisecond))
	}
	if out.Reason != "" && out.Result != store.DeploySucceeded {
		fmt.Fprintf(f, "\n%s\n", out.Reason)
	}
	fmt.Fprintln(f)
}

func (a *app) deployStatusCmd() *cobra.Command {
	var pf providerFlags
	var jsonOut bool
	c := &cobra.Command{
		Use:     "status ENV",
		Short:   "Show what runs in an environment (from the provider's saved state)",
		Example: "  shipgate deploy status production\n  shipgate deploy status production --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := pf.build(a)
			if err != nil {
				return asUsage(err)
			}
			st, err := p.Status(cmd.Context(), args[0])
			if err != nil {
				return failed(err)
			}
			if jsonOut {
				return writeJSON(a.stdout, st)
			}
			writeStatus(a.stdout, st)
			return nil
		},
	}
	pf.register(c)
	c.Flags().BoolVar(&jsonOut, "json", false, "print the status as JSON")
	return c
}

func writeStatus(w io.Writer, st *deploy.Status) {
	if st.Stable == nil && st.Canary == nil {
		fmt.Fprintf(w, "%s (%s): nothing deployed\n", st.Env, st.Provider)
		return
	}
	fmt.Fprintf(w, "%s (%s)", st.Env, st.Provider)
	if st.URL != "" {
		fmt.Fprintf(w, " at %s", st.URL)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range []struct {
		name  string
		track *deploy.Track
		share int
	}{{"stable", st.Stable, 100 - st.Weight}, {"canary", st.Canary, st.Weight}} {
		if t.track == nil {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d%% of traffic\t%d/%d ready\n", t.name, t.track.Version, t.share, t.track.Ready(), len(t.track.Replicas))
		for _, r := range t.track.Replicas {
			health := "healthy"
			if !r.Healthy {
				health = "unhealthy"
			}
			fmt.Fprintf(tw, "    %s\t%s\tpid %d\t%s\trestarts %d\n", r.Name, r.Addr, r.PID, health, r.Restarts)
		}
	}
	tw.Flush()
	if st.Previous != "" {
		fmt.Fprintf(w, "  previous version: %s\n", st.Previous)
	}
	if st.Detail != "" {
		fmt.Fprintf(w, "  %s\n", st.Detail)
	}
}

func (a *app) deployRollbackCmd() *cobra.Command {
	var pf providerFlags
	var reason string
	c := &cobra.Command{
		Use:   "rollback ENV",
		Short: "Roll an environment back by hand: abort a canary, or return to the previous version",
		Example: `  shipgate deploy rollback production
  shipgate deploy rollback production --reason "latency regression"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			env := args[0]
			p, err := pf.build(a)
			if err != nil {
				return asUsage(err)
			}
			ctx := cmd.Context()
			before, err := p.Status(ctx, env)
			if err != nil {
				return failed(err)
			}
			if before.Stable == nil {
				return failed(fmt.Errorf("%s: %w", env, deploy.ErrNothingDeployed))
			}
			if err := p.Rollback(ctx, env); err != nil {
				return failed(fmt.Errorf("rollback %s: %w", env, err))
			}
			after, _ := p.Status(ctx, env)
			// A manual rollback marks the deployment it undid as failed.
			db, err := store.Open(ctx, pf.storeDir)
			if err == nil {
				defer db.Close()
				undone := before.Stable.Version
				if before.Canary != nil {
					undone = before.Canary.Version
				}
				if recs, err := db.Deployments().List(ctx, env, time.Time{}); err == nil {
					for i := len(recs) - 1; i >= 0; i-- {
						if recs[i].Version == undone && recs[i].Result != store.DeployFailed {
							why := "rolled back by hand"
							if reason != "" {
								why += ": " + reason
							}
							_ = db.Deployments().Finish(ctx, recs[i].ID, store.DeployFailed, why, true, time.Now(), recs[i].Steps)
							break
						}
					}
				}
			}
			to := "?"
			if after != nil && after.Stable != nil {
				to = after.Stable.Version
			}
			fmt.Fprintf(a.stdout, "%s: rolled back, %s serving\n", env, to)
			return nil
		},
	}
	pf.register(c)
	c.Flags().StringVar(&reason, "reason", "", "why (recorded)")
	return c
}

func (a *app) deployHistoryCmd() *cobra.Command {
	var storeDir, since string
	var jsonOut bool
	c := &cobra.Command{
		Use:     "history [ENV]",
		Short:   "List recorded deployments, oldest first",
		Example: "  shipgate deploy history\n  shipgate deploy history production --since 7d --json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			env := ""
			if len(args) == 1 {
				env = args[0]
			}
			recs, _, err := deploymentsSince(cmd, storeDir, env, since)
			if err != nil {
				return err
			}
			if jsonOut {
				if recs == nil {
					recs = []store.Deployment{}
				}
				return writeJSON(a.stdout, recs)
			}
			if len(recs) == 0 {
				fmt.Fprintln(a.stdout, "no deployments recorded")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tENV\tVERSION\tPREVIOUS\tRESULT\tSTARTED\tDURATION\tREASON")
			for _, r := range recs {
				dur := ""
				if !r.Finished.IsZero() {
					dur = r.Finished.Sub(r.Started).Round(time.Second).String()
				}
				reason := r.Reason
				if len(reason) > 80 {
					reason = reason[:77] + "..."
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Env, r.Version, r.Previous, r.Result,
					r.Started.UTC().Format("2006-01-02 15:04:05"), dur, reason)
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&storeDir, "store", store.DefaultDir, "store `DIR`")
	c.Flags().StringVar(&since, "since", "", "only deployments started in the last `DURATION` (30d, 12h) or since a date (2026-11-01)")
	c.Flags().BoolVar(&jsonOut, "json", false, "print the records as JSON")
	return c
}

// parseSince reads "30d", "12h", "90m" or a date.
// deploymentsSince reads the deployment records of env ("" for all) since
// the --since value, with the exit codes of a read command.
func deploymentsSince(cmd *cobra.Command, storeDir, env, since string) ([]store.Deployment, time.Time, error) {
	from, err := parseSince(since)
	if err != nil {
		return nil, from, err
	}
	db, err := store.Open(cmd.Context(), storeDir)
	if err != nil {
		return nil, from, asUsage(err)
	}
	defer db.Close()
	recs, err := db.Deployments().List(cmd.Context(), env, from)
	if err != nil {
		return nil, from, failed(err)
	}
	return recs, from, nil
}

func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if strings.HasSuffix(s, "d") {
		if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && n >= 0 {
			return time.Now().Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{"2006-01-02", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError("--since %q: want a duration (30d, 12h) or a date (2026-11-01)", s)
}

func (a *app) deploySuperviseCmd() *cobra.Command {
	var env, dir, listen string
	c := &cobra.Command{
		Use:    "supervise",
		Short:  "Run an environment's local replicas and proxy (started in the background by deploy)",
		Hidden: true,
		Example: `  # what 'shipgate deploy --provider local' starts, detached:
  shipgate deploy supervise --env staging --dir .shipgate/deploy/staging`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if env == "" || dir == "" {
				return usageError("supervise needs --env and --dir")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s := &deploy.Supervisor{Env: env, Dir: dir, Listen: listen, Log: a.stderr}
			if err := s.Run(ctx); err != nil {
				return failed(err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment")
	c.Flags().StringVar(&dir, "dir", "", "the environment's state folder")
	c.Flags().StringVar(&listen, "listen", "", "proxy address")
	return c
}

func (a *app) deployStopCmd() *cobra.Command {
	var storeDir string
	c := &cobra.Command{
		Use:     "stop ENV",
		Short:   "Stop a local environment's supervisor and replicas",
		Example: "  shipgate deploy stop staging",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l := &deploy.Local{Dir: filepath.Join(storeDir, "deploy")}
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			if err := l.Stop(ctx, args[0]); err != nil {
				return failed(err)
			}
			fmt.Fprintf(a.stdout, "%s: stopped\n", args[0])
			return nil
		},
	}
	c.Flags().StringVar(&storeDir, "store", store.DefaultDir, "store `DIR`")
	return c
}

func (a *app) doraCmd() *cobra.Command {
	var storeDir, env, since, pushgateway string
	var jsonOut bool
	c := &cobra.Command{
		Use:   "dora",
		Short: "DORA metrics from the deployment records (frequency, lead time, change failure rate, time to restore)",
		Example: `  shipgate dora --env production --since 30d
  shipgate dora --json
  shipgate dora --env production --pushgateway http://127.0.0.1:9091`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if since == "" {
				since = "30d"
			}
			recs, from, err := deploymentsSince(cmd, storeDir, env, since)
			if err != nil {
				return err
			}
			d := deploy.ComputeDORA(env, recs, from, time.Now())
			if pushgateway != "" {
				if err := d.Push(pushgateway); err != nil {
					return failed(err)
				}
			}
			if jsonOut {
				return writeJSON(a.stdout, d)
			}
			d.WriteText(a.stdout)
			return nil
		},
	}
	c.Flags().StringVar(&storeDir, "store", store.DefaultDir, "store `DIR`")
	c.Flags().StringVar(&env, "env", "", "only this environment (default all)")
	c.Flags().StringVar(&since, "since", "30d", "the window: a duration (30d, 12h) or a date")
	c.Flags().StringVar(&pushgateway, "pushgateway", "", "also push the metrics to this Pushgateway `URL`")
	c.Flags().BoolVar(&jsonOut, "json", false, "print the metrics as JSON")
	return c
}

func (a *app) deployProbeCmd() *cobra.Command {
	var storeDir, reloadCmd, checkURL, contains string
	var restart, jsonOut bool
	var within time.Duration
	c := &cobra.Command{
		Use:   "probe ENV",
		Short: "Reliability probes of a local environment: restart resilience and configuration reload",
		Long: `probe --restart kills each stable replica in turn; the supervisor must have
it healthy again within --within. probe --reload-command runs a command
that changes a setting (e.g. edits the service's CONFIG_FILE); --check-url
must then contain --check-contains within --within, with no replica
restarted. Exit 1 when a probe fails.`,
		Example: `  shipgate deploy probe production --restart --within 30s
  shipgate deploy probe production --reload-command 'echo "{version, \"1.0.1\"}." > erlsvc.conf' \
      --check-url /health --check-contains 1.0.1 --within 5s`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !restart && reloadCmd == "" {
				return usageError("give --restart and/or --reload-command")
			}
			if reloadCmd != "" && contains == "" {
				return usageError("--reload-command needs --check-contains (what the new setting makes the service answer)")
			}
			l := &deploy.Local{Dir: filepath.Join(storeDir, "deploy")}
			var results []deploy.ProbeResult
			if reloadCmd != "" {
				r, err := l.ProbeReload(cmd.Context(), args[0], reloadCmd, deploy.Check{Name: checkURL, URL: checkURL, Contains: contains}, within)
				if err != nil {
					return failed(err)
				}
				results = append(results, r)
			}
			if restart {
				rs, err := l.ProbeRestart(cmd.Context(), args[0], within)
				if err != nil {
					return failed(err)
				}
				results = append(results, rs...)
			}
			ok := true
			for _, r := range results {
				ok = ok && r.OK
			}
			if jsonOut {
				if err := writeJSON(a.stdout, results); err != nil {
					return err
				}
			} else {
				for _, r := range results {
					verdict := "ok"
					if !r.OK {
						verdict = "FAILED"
					}
					fmt.Fprintf(a.stdout, "%-8s %-16s %-6s %8s (bound %s) %s\n", r.Probe, r.Target, verdict, r.Took.Round(time.Millisecond), r.Bound, r.Message)
				}
			}
			if !ok {
				return failed(deploy.ErrProbeFailed)
			}
			return nil
		},
	}
	c.Flags().StringVar(&storeDir, "store", store.DefaultDir, "store `DIR`")
	c.Flags().BoolVar(&restart, "restart", false, "restart-resilience probe")
	c.Flags().StringVar(&reloadCmd, "reload-command", "", "shell `COMMAND` that changes a setting for the reload probe")
	c.Flags().StringVar(&checkURL, "check-url", "/health", "path the reload probe reads")
	c.Flags().StringVar(&contains, "check-contains", "", "text the answer must contain once the setting is in effect")
	c.Flags().DurationVar(&within, "within", 30*time.Second, "bound for each probe")
	c.Flags().BoolVar(&jsonOut, "json", false, "print the results as JSON")
	return c
}
