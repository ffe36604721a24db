package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shipgate/shipgate/internal/actions"
	"github.com/shipgate/shipgate/internal/diag"
	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/executor"
	"github.com/shipgate/shipgate/internal/executor/container"
	"github.com/shipgate/shipgate/internal/executor/host"
	"github.com/shipgate/shipgate/internal/plan"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
	"github.com/spf13/cobra"
)

// runFlags are `shipgate run`'s flags beyond the workflow and event.
type runFlags struct {
	wf          workflowFlags
	jobs        []string
	secrets     []string
	secretFiles []string
	vars        []string
	varFiles    []string
	envFiles    []string
	matrix      []string
	parallel    int
	dryRun      bool
	plain       bool
	json        bool
	verbose     bool
	grace       time.Duration
	stateDir    string
	gates       map[string]bool // shipgate's commands, for uses: shipgate/<gate>@v1
	approve     []string        // protected environments approved on the command line
	approver    string
	envRules    string
	executor    string // host, container or kubernetes
	kubeConfig  string // --kubernetes-config
}

// commandNames lists the CLI's commands: the gates `uses: shipgate/<gate>@v1` may name.
func commandNames(root *cobra.Command) map[string]bool {
	out := map[string]bool{}
	for _, c := range root.Commands() {
		out[c.Name()] = true
	}
	return out
}

// knownAction is workflow.Options.KnownAction: a built-in, a local action,
// or shipgate/<gate>@v1 for a gate this binary has.
func (f *runFlags) knownAction(ref string) (bool, []string) {
	ok, builtins := actions.Known(ref)
	name, _, _ := strings.Cut(ref, "@")
	if gate, isGate := strings.CutPrefix(name, "shipgate/"); ok && isGate && f.gates != nil && !f.gates[gate] {
		return false, builtins
	}
	return ok, builtins
}

// runParams is what a run records (never secret values) so rerun can
// repeat it.
type runParams struct {
	Workflow    string            `json:"workflow"`
	Event       string            `json:"event"`
	EventPath   string            `json:"eventpath,omitempty"`
	Ref         string            `json:"ref,omitempty"`
	Inputs      map[string]string `json:"inputs,omitempty"`
	Vars        map[string]string `json:"vars,omitempty"`
	Jobs        []string          `json:"jobs,omitempty"`
	Matrix      map[string]string `json:"matrix,omitempty"`
	EnvFiles    []string          `json:"env_files,omitempty"`
	SecretNames []string          `json:"secret_names,omitempty"`
}

func (a *app) runCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run",
		Short: "Run a workflow on this machine",
		Long: `Run executes a GitHub Actions workflow on this machine, as a self-hosted
runner would: each job starts as soon as its own needs finish, up to --jobs
at once; matrices, conditions, outputs, artifacts, caches, step summaries
and masked secrets work as on GitHub. Nothing is downloaded: uses: must be a
built-in action or a local composite action.

With --executor container, a job with container: runs its run: steps in
that container and its services: start beside it on a network of its own,
reachable by their IDs, through the Docker Engine at DOCKER_HOST (or
podman's Docker-compatible socket). Nothing is pulled: images must already
be in the engine. Containers and networks are removed after the job, even
on Ctrl-C.

With --executor kubernetes, each job is a Pod in the namespace of
--kubernetes-config, with the image, node selector, resources and service
account of its runs-on label's profile; steps run through the Pod's exec
API, and the Pod is deleted after the job, after its timeout and on Ctrl-C.

Every run is recorded in .shipgate/ (see 'shipgate runs', 'shipgate logs',
'shipgate rerun'). Secrets are masked (***) on the terminal and in the
store and are never written to it.

Ctrl-C cancels the run cleanly: running steps get SIGTERM (then SIGKILL
after --grace), steps with if: always() or cancelled() still run. A second
Ctrl-C stops those too.

Exit codes: 0 the run succeeded, 1 it failed or was cancelled, 2 bad usage
or input (unknown job, malformed event file, missing secret file, a
workflow with errors, an unwritable .shipgate/).`,
		Example: `  shipgate run
  shipgate run -W .github/workflows/ci.yml -j test --matrix go:1.22
  shipgate run --event workflow_dispatch --input level=debug
  shipgate run --event pull_request --eventpath pr.json --secret-file .secrets
  DOCKER_HOST=unix:///run/docker.sock shipgate run --executor container -j integration
  shipgate run --executor kubernetes --kubernetes-config ci-kube.yml
  shipgate run --json | jq -c 'select(.type == "job_finished")'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			f.gates = commandNames(c.Root())
			return a.run(c.Context(), &f, 0, nil, nil)
		},
	}
	f.wf.register(c, true)
	f.register(c)
	return c
}

func (f *runFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringArrayVarP(&f.jobs, "job", "j", nil, "run only job `ID` and what it needs (repeatable)")
	fl.StringArrayVarP(&f.secrets, "secret", "s", nil, "secret `NAME=VALUE`, or NAME to take it from the environment (repeatable)")
	fl.StringArrayVar(&f.secretFiles, "secret-file", nil, "dotenv `FILE` of secrets (repeatable)")
	fl.StringArrayVar(&f.vars, "var", nil, "configuration variable `NAME=VALUE` for the vars context (repeatable)")
	fl.StringArrayVar(&f.varFiles, "var-file", nil, "dotenv `FILE` of variables (repeatable)")
	fl.StringArrayVar(&f.envFiles, "env-file", nil, "dotenv `FILE` of env for every step, below the workflow's env (repeatable)")
	fl.StringArrayVar(&f.matrix, "matrix", nil, "run only matrix legs with `KEY:VALUE` (repeatable)")
	fl.IntVar(&f.parallel, "jobs", runtime.NumCPU(), "run at most `N` jobs (matrix legs) at once")
	fl.BoolVarP(&f.dryRun, "dry-run", "n", false, "walk the job graph without executing steps")
	fl.BoolVar(&f.plain, "plain", false, "plain prefixed lines instead of the live view (the default when not a terminal)")
	fl.BoolVar(&f.json, "json", false, "print one JSON event per line")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "also show ::debug:: messages")
	fl.DurationVar(&f.grace, "grace", 5*time.Second, "time between SIGTERM and SIGKILL when a step is stopped")
	fl.StringVar(&f.stateDir, "store", "", "store `DIR` (default: .shipgate in the repository)")
	fl.StringArrayVar(&f.approve, "approve", nil, "approve the protected environment `ENV` for this run (repeatable; see --environments)")
	fl.StringVar(&f.approver, "approver", os.Getenv("USER"), "who approves with --approve (`NAME`, one of the environment's reviewers)")
	fl.StringVar(&f.executor, "executor", "host", "`NAME` of the executor: host, or container (container: and services: through the Docker Engine at DOCKER_HOST), or kubernetes (each job a Pod; see --kubernetes-config)")
	fl.StringVar(&f.kubeConfig, "kubernetes-config", "", "the kubernetes executor's `FILE` (kubeconfig, namespace, runner_image, profiles by runs-on label)")
	fl.StringVar(&f.envRules, "environments", "", "environment protection rules `FILE` (default .github/environments.yml in the repository)")
}

// repoRoot is the git top-level folder of the current directory, or the
// current directory.
func repoRoot() string {
	wd, _ := os.Getwd()
	return gitTop(wd, wd)
}

func gitTop(dir, fallback string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return fallback
	}
	return strings.TrimSpace(string(out))
}

// workspaceFor is GITHUB_WORKSPACE for a workflow file: the folder above
// .github/workflows; for a workflow elsewhere, the git repository holding
// it, else the current directory.
func workspaceFor(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return repoRoot()
	}
	dir := filepath.Dir(abs)
	// The project is the folder that holds .github: the repository root in
	// a normal checkout, or a project nested in a larger repository (such
	// as examples/hello here).
	if filepath.Base(dir) == "workflows" && filepath.Base(filepath.Dir(dir)) == ".github" {
		return filepath.Dir(filepath.Dir(dir))
	}
	fallback, _ := os.Getwd()
	return gitTop(dir, fallback)
}

// openRuns opens the store and marks runs whose process died as interrupted.
func (a *app) openRuns(ctx context.Context, dir string) (*store.DB, *store.Runs, error) {
	if err := checkWritable(dir); err != nil {
		return nil, nil, usageError("the store %s is not writable: %v", dir, err)
	}
	db, err := store.Open(ctx, dir)
	if err != nil {
		return nil, nil, usageError("cannot open the store: %v", err)
	}
	runs := store.NewRuns(db)
	ids, err := runs.MarkInterrupted(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	for _, id := range ids {
		tmp := filepath.Join(dir, "tmp", strconv.FormatInt(id, 10))
		killed := host.Reap(filepath.Join(tmp, engine.ProcDirName))
		os.RemoveAll(tmp)
		msg := ""
		if killed > 0 {
			msg = fmt.Sprintf("; killed %d process group(s) it left", killed)
		}
		fmt.Fprintf(a.stderr, "shipgate: run %d was interrupted (its process is gone); marked interrupted%s\n", id, msg)
	}
	return db, runs, nil
}

// checkWritable makes dir (if needed) and proves a file can be created in it.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// keyValues parses NAME=VALUE flags; withEnv lets a bare NAME read the
// environment (for --secret).
func keyValues(flag string, list []string, withEnv bool) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok && withEnv {
			ev, found := os.LookupEnv(k)
			if !found {
				return nil, usageError("--%s %s: no = and no environment variable %s", flag, k, k)
			}
			v, ok = ev, true
		}
		if !ok || k == "" {
			return nil, usageError("--%s %q: want NAME=VALUE", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}

func readDotenvFiles(flag string, files []string, into map[string]string) error {
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return usageError("--%s %s: %v", flag, p, errors.Unwrap(err))
		}
		m, err := engine.ParseDotenv(string(b))
		if err != nil {
			return usageError("--%s %s:%v", flag, p, err)
		}
		for k, v := range m {
			if _, set := into[k]; !set {
				into[k] = v
			}
		}
	}
	return nil
}

// run runs a workflow; rerun calls it with the original run's id, the jobs
// to reuse and the runs whose artifacts stay visible.
func (a *app) run(ctx context.Context, f *runFlags, rerunOf int64, reuse map[string]*engine.ReusedJob, artifactRuns []int64) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if f.parallel < 1 {
		return usageError("--jobs %d: want at least 1", f.parallel)
	}
	// Inputs first: every bad-input error is found before anything runs.
	secrets, err := keyValues("secret", f.secrets, true)
	if err != nil {
		return err
	}
	if err := readDotenvFiles("secret-file", f.secretFiles, secrets); err != nil {
		return err
	}
	vars, err := keyValues("var", f.vars, false)
	if err != nil {
		return err
	}
	if err := readDotenvFiles("var-file", f.varFiles, vars); err != nil {
		return err
	}
	env := map[string]string{}
	if err := readDotenvFiles("env-file", f.envFiles, env); err != nil {
		return err
	}
	matrix := map[string]string{}
	for _, kv := range f.matrix {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || k == "" {
			return usageError("--matrix %q: want KEY:VALUE", kv)
		}
		matrix[k] = v
	}
	var ex executor.Executor
	switch f.executor {
	case "host", "":
		ex = &host.Executor{Grace: f.grace}
	case "container":
		ex = &container.Executor{Grace: f.grace}
	case "kubernetes":
		if ex, err = kubeExecutor(f.kubeConfig); err != nil {
			return err
		}
	default:
		return usageError("--executor %q: want host or container (or kubernetes)", f.executor)
	}
	path, err := f.wf.resolveFile()
	if err != nil {
		return err
	}
	wf, ds, err := workflow.Load(path, workflow.Options{Strict: true, KnownAction: f.knownAction, NoScriptCheck: true, Containers: f.executor == "container"})
	if err != nil {
		return asUsage(err)
	}
	block, warn := engine.Blocking(ds)
	if len(block) > 0 || wf == nil {
		diag.WriteText(a.stderr, block, nil, isTerminal(a.stderr))
		return usageError("%s: %d error(s); the workflow cannot run (see 'shipgate validate')", path, len(block))
	}
	if len(warn) > 0 && !f.json {
		diag.WriteText(a.stderr, warn, nil, isTerminal(a.stderr))
	}
	for _, j := range f.jobs {
		if wf.Job(j) == nil {
			var ids []string
			for _, x := range wf.Jobs {
				ids = append(ids, x.ID)
			}
			return usageError("no job %q in %s (jobs: %s)", j, path, strings.Join(ids, ", "))
		}
	}
	ev, err := f.wf.loadEvent()
	if err != nil {
		return err
	}
	// An event the workflow does not listen to is a mistake; a branch or
	// path filter that does not match is worth a warning only (running a
	// main-only workflow from a feature branch is what one does locally).
	if ok, why := plan.Triggered(wf, ev.Plan); !ok {
		listens := false
		for _, t := range wf.On {
			listens = listens || t.Event == ev.Plan.Name
		}
		if !listens {
			return usageError("%s: %s", path, why)
		}
		fmt.Fprintf(a.stderr, "shipgate: warning: on GitHub this %s would not run the workflow (%s); running it anyway\n", ev.Plan.Name, why)
	}
	ws := workspaceFor(path)
	dir := f.stateDir
	if dir == "" {
		dir = filepath.Join(ws, store.DefaultDir)
	}
	db, runs, err := a.openRuns(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	stateDir := filepath.Dir(db.Path())
	self, _ := os.Executable()
	rulesPath, explicit := environmentsPath(ws, f.envRules)
	rules, err := loadEnvironmentRules(rulesPath, explicit)
	if err != nil {
		return asUsage(err)
	}
	actor, _ := ev.GitHub["actor"].(string)
	ref, _ := ev.GitHub["ref"].(string)
	envGate := environmentGate(rules, f.approve, f.approver, actor, ref, a.stderr)
	var names []string
	for k := range secrets {
		names = append(names, k)
	}
	params, _ := json.Marshal(runParams{Workflow: path, Event: ev.Plan.Name, EventPath: f.wf.eventPath, Ref: f.wf.ref,
		Inputs: ev.Plan.Inputs, Vars: vars, Jobs: f.jobs, Matrix: matrix, EnvFiles: f.envFiles, SecretNames: sorted(names)})

	// Ctrl-C: the first cancels the run, the second stops always() steps.
	soft, cancelSoft := context.WithCancel(ctx)
	hard, cancelHard := context.WithCancel(context.Background())
	defer cancelSoft()
	defer cancelHard()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		n := 0
		for range sigs {
			n++
			if n == 1 {
				fmt.Fprintln(a.stderr, "\nshipgate: cancelling the run (Ctrl-C again to stop always() steps too)")
				cancelSoft()
			} else {
				cancelHard()
			}
		}
	}()
	go func() { <-ctx.Done(); cancelHard() }()

	view := newRunView(a.stdout, f.json, f.plain || !isTerminal(a.stdout), f.verbose)
	res, err := engine.Run(soft, engine.Options{
		Workflow: wf, WorkflowPath: path, Event: ev.Plan, EventPayload: ev.Payload, GitHub: ev.GitHub,
		Only: f.jobs, MatrixFilter: matrix, Secrets: secrets, Vars: vars, Env: env, Parallel: f.parallel,
		Workspace: ws, StateDir: stateDir, Executor: ex, Runs: runs,
		Sink: view.event, HardCtx: hard, Grace: f.grace, DryRun: f.dryRun, Reuse: reuse,
		ArtifactRuns: artifactRuns, RerunOf: rerunOf, Params: params, Self: self,
		EnvironmentGate: envGate,
	})
	view.close()
	if err != nil {
		var ie *engine.InputError
		if errors.As(err, &ie) {
			diag.WriteText(a.stderr, ie.Diags, nil, isTerminal(a.stderr))
			return usageError("%s: the workflow cannot run for this event", path)
		}
		return err
	}
	if !f.json {
		view.summary(res)
	}
	if res.Status != store.StatusSuccess {
		return failed(nil)
	}
	return nil
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
