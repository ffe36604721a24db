package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/actions"
	"github.com/shipgate/shipgate/internal/executor"
	"github.com/shipgate/shipgate/internal/executor/fake"
	"github.com/shipgate/shipgate/internal/executor/host"
	"github.com/shipgate/shipgate/internal/plan"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
)

func load(t *testing.T, src string) *workflow.Workflow {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wf.yml")
	os.WriteFile(p, []byte(src), 0o644)
	wf, ds, err := workflow.Load(p, workflow.Options{Strict: true, KnownAction: actions.Known, NoScriptCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := Blocking(ds); len(block) > 0 {
		t.Fatalf("workflow does not load: %v", block)
	}
	return wf
}

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) sink(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) find(typ, job string) *Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.events {
		if r.events[i].Type == typ && r.events[i].Job == job {
			return &r.events[i]
		}
	}
	return nil
}

func (r *recorder) logs(job string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		if e.Type == "log" && (job == "" || e.Job == job) {
			b.WriteString(e.Text + "\n")
		}
	}
	return b.String()
}

type env struct {
	ws    string
	db    *store.DB
	runs  *store.Runs
	rec   *recorder
	opts  Options
	state string
}

func newEnv(t *testing.T, wf *workflow.Workflow) *env {
	t.Helper()
	ws := t.TempDir()
	state := filepath.Join(ws, ".shipgate")
	db, err := store.Open(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{ws: ws, db: db, runs: store.NewRuns(db), rec: &recorder{}, state: state}
	e.opts = Options{Workflow: wf, WorkflowPath: "wf.yml", Event: plan.Event{Name: "push", Ref: "refs/heads/main"},
		GitHub: map[string]any{"sha": "abc", "ref": "refs/heads/main", "repository": "o/r"}, Parallel: 4, Workspace: ws,
		StateDir: state, Executor: &host.Executor{Grace: 300 * time.Millisecond}, Runs: e.runs, Sink: e.rec.sink, Grace: 300 * time.Millisecond}
	return e
}

func (e *env) run(t *testing.T, ctx context.Context) *Result {
	t.Helper()
	res, err := Run(ctx, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func statuses(res *Result) map[string]string {
	m := map[string]string{}
	for _, j := range res.Jobs {
		m[j.Name] = j.Status
	}
	return m
}

func TestJobStartsWhenItsOwnNeedsFinish(t *testing.T) {
	wf := load(t, `on: push
jobs:
  quick: {runs-on: ubuntu-latest, steps: [{run: "sleep 0.1"}]}
  slow: {runs-on: ubuntu-latest, steps: [{run: "sleep 2"}]}
  after-quick: {needs: quick, runs-on: ubuntu-latest, steps: [{run: "true"}]}
  after-both: {needs: [quick, slow], runs-on: ubuntu-latest, steps: [{run: "true"}]}
`)
	e := newEnv(t, wf)
	res := e.run(t, context.Background())
	if res.Status != "success" {
		t.Fatalf("status %s", res.Status)
	}
	aq := e.rec.find("job_started", "after-quick")
	sf := e.rec.find("job_finished", "slow")
	ab := e.rec.find("job_started", "after-both")
	if aq == nil || sf == nil || ab == nil {
		t.Fatal("missing events")
	}
	if !aq.Time.Before(sf.Time) {
		t.Errorf("after-quick started at %v, after slow finished (%v): it waited for a layer", aq.Time, sf.Time)
	}
	if ab.Time.Before(sf.Time) {
		t.Errorf("after-both started before slow finished")
	}
}

func TestParallelLimit(t *testing.T) {
	src := "on: push\njobs:\n"
	for _, n := range []string{"a", "b", "c", "d"} {
		src += "  " + n + ": {runs-on: ubuntu-latest, steps: [{run: \"sleep 0.3\"}]}\n"
	}
	e := newEnv(t, load(t, src))
	e.opts.Parallel = 1
	start := time.Now()
	e.run(t, context.Background())
	if el := time.Since(start); el < 1200*time.Millisecond {
		t.Errorf("4 jobs of 0.3s with --jobs 1 took %v: ran in parallel", el)
	}
}

func TestConditionsResultsAndOutputs(t *testing.T) {
	wf := load(t, `on: push
jobs:
  fail:
    runs-on: ubuntu-latest
    steps:
      - id: bad
        run: exit 1
        continue-on-error: true
      - id: out
        run: |
          echo "x=1" >> $GITHUB_OUTPUT
          echo "text<<EOF" >> $GITHUB_OUTPUT
          echo "line one" >> $GITHUB_OUTPUT
          echo "line two" >> $GITHUB_OUTPUT
          echo "EOF" >> $GITHUB_OUTPUT
      - run: test "${{ steps.bad.outcome }}/${{ steps.bad.conclusion }}" = "failure/success"
      - run: exit 2
      - run: echo never
      - if: failure()
        run: echo "job status ${{ job.status }}"
    outputs:
      text: ${{ steps.out.outputs.text }}
      x: ${{ steps.out.outputs.x }}
  dependant: {needs: fail, runs-on: ubuntu-latest, steps: [{run: "true"}]}
  transitive: {needs: dependant, runs-on: ubuntu-latest, steps: [{run: "true"}]}
  always:
    needs: fail
    if: always()
    runs-on: ubuntu-latest
    steps:
      - run: test "${{ needs.fail.result }}" = failure && test "${{ needs.fail.outputs.x }}" = 1
      - run: printf '%s' "${{ needs.fail.outputs.text }}" | grep -c line | grep 2
  on-failure:
    needs: always
    if: failure()
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
`)
	e := newEnv(t, wf)
	res := e.run(t, context.Background())
	got := statuses(res)
	want := map[string]string{"fail": "failure", "dependant": "skipped", "transitive": "skipped", "always": "success", "on-failure": "success"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s\n%s", k, got[k], v, e.rec.logs(""))
		}
	}
	if res.Status != "failure" {
		t.Errorf("run %s", res.Status)
	}
	logs := e.rec.logs("fail")
	if strings.Contains(logs, "never") || !strings.Contains(logs, "job status failure") {
		t.Errorf("fail logs:\n%s", logs)
	}
	// Stored steps: outcome and conclusion.
	jobs, _ := e.runs.Jobs(context.Background(), res.RunID)
	steps, _ := e.runs.Steps(context.Background(), jobs[0].ID)
	if steps[0].Outcome != "failure" || steps[0].Conclusion != "success" || steps[4].Outcome != "skipped" {
		t.Errorf("steps %+v %+v", steps[0], steps[4])
	}
}

func TestMatrixFailFastAndMaxParallel(t *testing.T) {
	wf := load(t, `on: push
jobs:
  ff:
    strategy:
      matrix: {n: [1, 2, 3]}
    runs-on: ubuntu-latest
    steps:
      - run: if [ ${{ matrix.n }} = 1 ]; then exit 1; fi; sleep 5
  experimental:
    continue-on-error: ${{ matrix.n == 2 }}
    strategy:
      matrix: {n: [2]}
    runs-on: ubuntu-latest
    steps: [{run: "exit 1"}]
  after-experimental: {needs: experimental, runs-on: ubuntu-latest, steps: [{run: "true"}]}
  nofail:
    strategy:
      fail-fast: false
      max-parallel: 1
      matrix: {n: [1, 2, 3]}
    runs-on: ubuntu-latest
    steps:
      - run: if [ ${{ matrix.n }} = 1 ]; then exit 1; fi; sleep 0.2
`)
	e := newEnv(t, wf)
	e.opts.Parallel = 6
	start := time.Now()
	res := e.run(t, context.Background())
	got := statuses(res)
	if got["ff (1)"] != "failure" || got["ff (2)"] != "cancelled" || got["ff (3)"] != "cancelled" {
		t.Errorf("fail-fast: %v", got)
	}
	if got["nofail (2)"] != "success" || got["nofail (3)"] != "success" {
		t.Errorf("fail-fast false: %v", got)
	}
	if got["experimental (2)"] != "failure" || got["after-experimental"] != "success" {
		t.Errorf("job continue-on-error: %v", got)
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("fail-fast did not stop the 5s legs (%v)", time.Since(start))
	}
	// max-parallel 1: the legs of nofail never overlap.
	var spans [][2]time.Time
	for _, n := range []string{"nofail (1)", "nofail (2)", "nofail (3)"} {
		s, f := e.rec.find("job_started", n), e.rec.find("job_finished", n)
		if s == nil || f == nil {
			t.Fatalf("%s did not run", n)
		}
		spans = append(spans, [2]time.Time{s.Time, f.Time})
	}
	slices.SortFunc(spans, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
	for i := 1; i < len(spans); i++ {
		if spans[i][0].Before(spans[i-1][1]) {
			t.Errorf("max-parallel 1: legs overlap")
		}
	}
}

func TestEnvPrecedenceShellsAndFiles(t *testing.T) {
	wf := load(t, `on: push
env: {A: wf, B: wf, C: wf, D: wf}
defaults:
  run: {shell: sh}
jobs:
  j:
    runs-on: ubuntu-latest
    env: {B: job, C: job, D: job}
    steps:
      - run: |
          echo "D=from-env-file" >> $GITHUB_ENV
          mkdir -p bin && printf '#!/bin/sh\necho tool-ran\n' > bin/mytool && chmod +x bin/mytool
          echo "$PWD/bin" >> $GITHUB_PATH
      - run: test "$A/$B/$C/$D" = "wf/job/step/from-env-file" && test -z "$BASH_VERSION"
        env: {C: step}
      - run: mytool && test "$CI" = true && test "$GITHUB_WORKSPACE" = "$PWD" && test -d "$RUNNER_TEMP" && test -n "$GITHUB_RUN_ID"
      - shell: bash
        run: false | true
      - shell: python
        run: import os; print("py", os.environ["A"])
      - shell: perl {0}
        run: print "perl ok\n";
      - working-directory: bin
        run: test -x mytool
`)
	e := newEnv(t, wf)
	res := e.run(t, context.Background())
	if res.Status != "failure" {
		t.Fatalf("bash pipefail step did not fail: %s\n%s", res.Status, e.rec.logs(""))
	}
	steps := res.Jobs[0].Steps
	want := []string{"success", "success", "success", "failure", "skipped", "skipped", "skipped"}
	for i, s := range steps {
		if s.Outcome != want[i] {
			t.Errorf("step %d %q: %s, want %s\n%s", i, s.Name, s.Outcome, want[i], e.rec.logs(""))
		}
	}
}

func TestSecretsMaskedEverywhere(t *testing.T) {
	wf := load(t, `on: push
jobs:
  j:
    runs-on: ubuntu-latest
    outputs: {leak: "${{ steps.s.outputs.v }}"}
    steps:
      - id: s
        run: |
          echo "single ${{ secrets.TOKEN }}"
          printf '%s\n' "$MULTI"
          echo "::add-mask::runtime-value-42"
          echo "later runtime-value-42"
          echo "v=${{ secrets.TOKEN }}" >> $GITHUB_OUTPUT
          echo "::error title=${{ secrets.TOKEN }}::bad ${{ secrets.TOKEN }}"
          echo "sum ${{ secrets.TOKEN }}" >> $GITHUB_STEP_SUMMARY
        env: {MULTI: "${{ secrets.KEY }}"}
`)
	e := newEnv(t, wf)
	e.opts.Secrets = map[string]string{"TOKEN": "tok-SECRET-123", "KEY": "-----BEGIN KEY-----\nAAAA-middle-line\n-----END KEY-----"}
	e.run(t, context.Background())
	logs := e.rec.logs("")
	for _, leak := range []string{"tok-SECRET-123", "AAAA-middle-line", "BEGIN KEY", "runtime-value-42"} {
		if strings.Contains(logs, leak) {
			t.Errorf("%q visible in output:\n%s", leak, logs)
		}
	}
	if !strings.Contains(logs, "single ***") || !strings.Contains(logs, "later ***") {
		t.Errorf("masked lines missing:\n%s", logs)
	}
	// Nothing secret reached the database file (WAL included).
	e.db.SQL().Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	for _, f := range []string{"shipgate.db", "shipgate.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(e.state, f))
		for _, leak := range []string{"tok-SECRET-123", "AAAA-middle-line", "runtime-value-42"} {
			if strings.Contains(string(b), leak) {
				t.Errorf("%s holds secret %q", f, leak)
			}
		}
	}
}

func TestStepTimeoutKillsAndFails(t *testing.T) {
	wf := load(t, `on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - run: sleep 30 & sleep 30
        timeout-minutes: 0.02
      - if: always()
        run: echo cleanup-ran
`)
	e := newEnv(t, wf)
	start := time.Now()
	res := e.run(t, context.Background())
	if res.Status != "failure" || time.Since(start) > 6*time.Second {
		t.Fatalf("status %s after %v", res.Status, time.Since(start))
	}
	if !strings.Contains(e.rec.logs(""), "cleanup-ran") || !strings.Contains(e.rec.logs(""), "timed out") {
		t.Errorf("logs:\n%s", e.rec.logs(""))
	}
}

// Ctrl-C: the running step is killed (its whole group), the job and run are
// cancelled, if: always() and cancelled() steps still run, other steps and
// jobs do not, and no process is left.
func TestCancelRunsAlwaysStepsAndLeavesNoProcess(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pids")
	wf := load(t, `on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - run: |
          sleep 60 & echo $! >> `+pidFile+`
          sleep 60 & echo $! >> `+pidFile+`
          echo $$ >> `+pidFile+`
          wait
      - run: echo not-after-cancel
      - if: always()
        run: echo always-ran
      - if: cancelled()
        run: echo cancelled-ran
  later: {needs: j, runs-on: ubuntu-latest, steps: [{run: "echo later-ran"}]}
`)
	e := newEnv(t, wf)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if b, _ := os.ReadFile(pidFile); strings.Count(string(b), "\n") == 3 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	res := e.run(t, ctx)
	logs := e.rec.logs("")
	if res.Status != "cancelled" || statuses(res)["j"] != "cancelled" || statuses(res)["later"] != "cancelled" {
		t.Errorf("statuses %v run %s", statuses(res), res.Status)
	}
	if strings.Contains(logs, "not-after-cancel") || strings.Contains(logs, "later-ran") ||
		!strings.Contains(logs, "always-ran") || !strings.Contains(logs, "cancelled-ran") {
		t.Errorf("logs:\n%s", logs)
	}
	b, _ := os.ReadFile(pidFile)
	alive := 0
	for _, f := range strings.Fields(string(b)) {
		if _, err := os.Stat("/proc/" + f); err == nil {
			if st, _ := os.ReadFile("/proc/" + f + "/stat"); !strings.Contains(string(st), ") Z ") {
				alive++
			}
		}
	}
	if alive != 0 {
		t.Errorf("%d of the step's 3 processes are still alive after cancel", alive)
	}
	run, _ := e.runs.GetRun(context.Background(), res.RunID)
	if run.Status != "cancelled" {
		t.Errorf("stored run %s", run.Status)
	}
}

// The strict fake checks the engine's use of the lifecycle: Setup, Exec in
// order, Teardown once with a live context, for every leg, also when the
// run is cancelled.
func TestLifecycleWithStrictFake(t *testing.T) {
	wf := load(t, `on: push
jobs:
  a: {runs-on: ubuntu-latest, steps: [{run: one}, {run: two}]}
  b:
    needs: a
    strategy: {matrix: {n: [1, 2]}}
    runs-on: ubuntu-latest
    steps: [{run: block}, {if: always(), run: after}]
`)
	e := newEnv(t, wf)
	f := fake.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	var afterMu sync.Mutex
	after := 0
	f.Run = func(ctx context.Context, j *executor.Job, s *executor.Step) *executor.Result {
		b, _ := os.ReadFile(s.Argv[len(s.Argv)-1])
		if strings.TrimSpace(string(b)) == "after" {
			afterMu.Lock()
			after++
			afterMu.Unlock()
		}
		if strings.TrimSpace(string(b)) == "block" {
			cancel()
			<-ctx.Done()
			return &executor.Result{ExitCode: -1, Cancelled: true}
		}
		return &executor.Result{}
	}
	e.opts.Executor = f
	res := e.run(t, ctx)
	f.Verify()
	calls := f.Calls()
	if res.Status != "cancelled" || calls[0] != "setup a" || calls[3] != "teardown a" {
		t.Errorf("status %s calls %q", res.Status, calls)
	}
	// Every leg that was set up was torn down (Verify); at least the
	// blocking one ran, and the always() step ran after it was cancelled.
	setups, teardowns := 0, 0
	for _, c := range calls {
		switch {
		case strings.HasPrefix(c, "setup b"):
			setups++
		case strings.HasPrefix(c, "teardown b"):
			teardowns++
		}
	}
	if setups == 0 || setups != teardowns || after != setups {
		t.Errorf("b: %d setups, %d teardowns, %d always() steps: %q", setups, teardowns, after, calls)
	}
}

func TestCompositeAndBuiltinActions(t *testing.T) {
	wf := load(t, `on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - id: c
        uses: ./act
        with: {who: world}
      - run: test "${{ steps.c.outputs.greeting }}" = "hello world" && test "$FROM_COMPOSITE" = yes
      - uses: actions/setup-go@v5
        with: {go-version: "1.26"}
      - uses: ./bad
`)
	e := newEnv(t, wf)
	os.MkdirAll(filepath.Join(e.ws, "act", "inner"), 0o755)
	os.WriteFile(filepath.Join(e.ws, "act", "action.yml"), []byte(`name: greet
inputs:
  who: {required: true}
  punct: {default: "."}
outputs:
  greeting: {value: "${{ steps.g.outputs.greeting }}"}
runs:
  using: composite
  steps:
    - id: g
      uses: ./act/inner
      with: {name: "${{ inputs.who }}"}
    - shell: bash
      run: echo "FROM_COMPOSITE=yes" >> $GITHUB_ENV && test -f "$GITHUB_ACTION_PATH/action.yml"
`), 0o644)
	os.WriteFile(filepath.Join(e.ws, "act", "inner", "action.yml"), []byte(`name: inner
inputs: {name: {}}
outputs:
  greeting: {value: "${{ steps.s.outputs.g }}"}
runs:
  using: composite
  steps:
    - id: s
      shell: sh
      run: echo "g=hello ${{ inputs.name }}" >> $GITHUB_OUTPUT
`), 0o644)
	os.MkdirAll(filepath.Join(e.ws, "bad"), 0o755)
	os.WriteFile(filepath.Join(e.ws, "bad", "action.yml"), []byte("name: bad\nruns:\n  using: composite\n  steps:\n    - uses: nobody/unknown-action@v1\n"), 0o644)
	res := e.run(t, context.Background())
	steps := res.Jobs[0].Steps
	if steps[0].Outcome != "success" || steps[1].Outcome != "success" || steps[2].Outcome != "success" || steps[3].Outcome != "failure" {
		t.Errorf("steps %+v\n%s", steps, e.rec.logs(""))
	}
	if !strings.Contains(e.rec.logs(""), "nobody/unknown-action@v1") || !strings.Contains(e.rec.logs(""), "actions/checkout") {
		t.Errorf("unknown action error does not name it and the built-ins:\n%s", e.rec.logs(""))
	}
}

func TestUnknownActionRefusedAtLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "wf.yml")
	os.WriteFile(p, []byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: nobody/unknown-action@v6\n"), 0o644)
	_, ds, _ := workflow.Load(p, workflow.Options{Strict: true, KnownAction: actions.Known})
	block, _ := Blocking(ds)
	if len(block) != 1 || block[0].Pos.Line != 6 || !strings.Contains(block[0].Message, "nobody/unknown-action@v6") || !strings.Contains(block[0].Message, "actions/upload-artifact") {
		t.Errorf("diagnostics %v", block)
	}
}

func TestUnknownJobIsInputError(t *testing.T) {
	e := newEnv(t, load(t, "on: push\njobs:\n  a: {runs-on: ubuntu-latest, steps: [{run: 'true'}]}\n"))
	e.opts.Only = []string{"nope"}
	_, err := Run(context.Background(), e.opts)
	var ie *InputError
	if err == nil || !strings.Contains(err.Error(), `no job "nope"`) {
		t.Fatalf("err = %v", err)
	} else if !asInputError(err, &ie) {
		t.Errorf("not an InputError: %T", err)
	}
}

func asInputError(err error, ie **InputError) bool {
	e, ok := err.(*InputError)
	*ie = e
	return ok
}

func TestParseDotenv(t *testing.T) {
	m, err := ParseDotenv("A=1\n# c\nexport B = two words # note\nC=\"multi\\nline\"\nD='raw\\n'\nE=\"x\ny\"\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": "multi\nline", "D": `raw\n`, "E": "x\ny"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	if _, err := ParseDotenv("A=1\nnot a line\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: %v", err)
	}
}

func TestShipgateGateActionRunsSelf(t *testing.T) {
	wf := load(t, `on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - id: cov
        uses: shipgate/coverage@v1
        with:
          command: check
          args: cover.out "two words"
          min: 80
      - uses: shipgate/coverage@v1
        with: {fail: "yes"}
`)
	e := newEnv(t, wf)
	self := filepath.Join(e.ws, "fake-shipgate")
	os.WriteFile(self, []byte("#!/bin/sh\nfor a in \"$@\"; do echo \"arg[$a]\"; done\ncase \"$*\" in *--fail=yes*) exit 1;; esac\n"), 0o755)
	e.opts.Self = self
	res := e.run(t, context.Background())
	logs := e.rec.logs("")
	if !strings.Contains(logs, "arg[coverage]\narg[check]\narg[cover.out]\narg[two words]\narg[--min=80]") {
		t.Errorf("argv not as documented:\n%s", logs)
	}
	if s := res.Jobs[0].Steps; s[0].Outcome != "success" || s[1].Outcome != "failure" {
		t.Errorf("steps %+v", s)
	}
}

func TestJobTimeoutAndCache(t *testing.T) {
	wf := load(t, `on: push
jobs:
  slow:
    runs-on: ubuntu-latest
    timeout-minutes: 0.02
    steps:
      - run: sleep 20
      - if: always()
        run: echo after-timeout
  cache:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir -p deps && echo v1 > deps/x && echo lock > go.sum
      - id: c
        uses: actions/cache@v4
        with:
          path: deps
          key: deps-${{ hashFiles('**/go.sum') }}
      - run: test "${{ steps.c.outputs.cache-hit }}" = false
`)
	e := newEnv(t, wf)
	start := time.Now()
	res := e.run(t, context.Background())
	got := statuses(res)
	if got["slow"] != "failure" || time.Since(start) > 8*time.Second || !strings.Contains(e.rec.logs("slow"), "after-timeout") {
		t.Errorf("job timeout: %v after %v\n%s", got, time.Since(start), e.rec.logs("slow"))
	}
	if got["cache"] != "success" {
		t.Fatalf("cache job: %v\n%s", got, e.rec.logs("cache"))
	}
	// The post step saved the cache: a second run restores it exactly.
	wf2 := load(t, `on: push
jobs:
  cache:
    runs-on: ubuntu-latest
    steps:
      - id: c
        uses: actions/cache@v4
        with:
          path: deps
          key: deps-${{ hashFiles('**/go.sum') }}
      - run: test "${{ steps.c.outputs.cache-hit }}" = true && test "$(cat deps/x)" = v1
`)
	os.RemoveAll(filepath.Join(e.ws, "deps"))
	e.opts.Workflow = wf2
	if res := e.run(t, context.Background()); res.Status != "success" {
		t.Errorf("cache restore run: %s\n%s", res.Status, e.rec.logs("cache"))
	}
}
