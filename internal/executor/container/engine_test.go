package container_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/actions"
	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/executor/container"
	"github.com/shipgate/shipgate/internal/executor/host"
	"github.com/shipgate/shipgate/internal/plan"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
)

// These tests run whole workflows through the engine and the container
// executor against the private dockerd, as `shipgate run --executor
// container` does.

type events struct {
	mu  sync.Mutex
	all []engine.Event
	// onLog, when set, sees every log line as it comes.
	onLog func(text string)
}

func (e *events) sink(ev engine.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	if ev.Type == "log" && e.onLog != nil {
		e.onLog(ev.Text)
	}
}

func (e *events) logs() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.all {
		if ev.Type == "log" {
			b.WriteString(ev.Job + ": " + ev.Text + "\n")
		}
	}
	return b.String()
}

func loadWorkflow(t *testing.T, src string, containers bool) (*workflow.Workflow, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wf.yml")
	os.WriteFile(p, []byte(src), 0o644)
	wf, ds, err := workflow.Load(p, workflow.Options{Strict: true, KnownAction: actions.Known, NoScriptCheck: true, Containers: containers})
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := engine.Blocking(ds); len(block) > 0 {
		return nil, &engine.InputError{Diags: block}
	}
	return wf, nil
}

func runWorkflow(t *testing.T, ctx context.Context, src string, onLog ...func(string)) (*engine.Result, *events, string) {
	t.Helper()
	wf, err := loadWorkflow(t, src, true)
	if err != nil {
		t.Fatal(err)
	}
	ws := t.TempDir()
	ev := &events{}
	if len(onLog) > 0 {
		ev.onLog = onLog[0]
	}
	res, err := engine.Run(ctx, engine.Options{
		Workflow: wf, Event: plan.Event{Name: "push"}, Workspace: ws, StateDir: filepath.Join(ws, store.DefaultDir),
		Executor: container.New(daemon.Host), Sink: ev.sink, Grace: time.Second,
		GitHub: map[string]any{"repository": "o/r", "sha": "abc"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, ev, ws
}

const workflowWithContainer = `on: push
env:
  FROM_WORKFLOW: wf
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        image: ["` + jobImage + `"]
    container:
      image: ${{ matrix.image }}
      env:
        FROM_CONTAINER: ctr
      options: --cpus 0.5 --memory 128m
    services:
      web:
        image: ` + webImage + `
        ports: ["8080"]
        options: >-
          --entrypoint /bin/serve
          --health-cmd "wget -q -O /dev/null http://127.0.0.1:8080/"
          --health-interval 200ms --health-retries 50
    outputs:
      page: ${{ steps.fetch.outputs.page }}
    steps:
      - name: inside the image
        run: |
          grep ID=shipgate-test /etc/os-release
          echo "ctr=$FROM_CONTAINER wf=$FROM_WORKFLOW ws=$GITHUB_WORKSPACE pwd=$(pwd)"
          test -f "$GITHUB_EVENT_PATH"
          echo "GREETING=hello-from-step-1" >> "$GITHUB_ENV"
          mkdir -p /opt/tools && printf '#!/bin/sh\necho tool-ran\n' > /opt/tools/mytool && chmod +x /opt/tools/mytool
          echo /opt/tools >> "$GITHUB_PATH"
          echo "## summary from the container" >> "$GITHUB_STEP_SUMMARY"
      - id: fetch
        name: the service by its name
        run: echo "page=$(wget -q -O - http://web:8080/)" >> "$GITHUB_OUTPUT"
      - name: later steps see env, path and outputs
        run: |
          echo "greeting=$GREETING"
          mytool
          echo "fetched=${{ steps.fetch.outputs.page }}"
          echo "port=${{ job.services.web.ports['8080'] }} id=${{ job.container.id != '' }}"
  after:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: echo "needs=${{ needs.build.outputs.page }}"
`

func TestWorkflowInContainerWithService(t *testing.T) {
	start := time.Now()
	res, ev, _ := runWorkflow(t, context.Background(), workflowWithContainer)
	logs := ev.logs()
	if res.Status != store.StatusSuccess {
		t.Fatalf("run %s:\n%s", res.Status, logs)
	}
	t.Logf("workflow with a container job and a service: %v", time.Since(start).Round(time.Millisecond))
	if testing.Verbose() {
		t.Logf("logs:\n%s", logs)
	}
	for _, want := range []string{
		"ID=shipgate-test",
		"ctr=ctr wf=wf",
		"greeting=hello-from-step-1",
		"tool-ran",
		"fetched=hello from the web service",
		"id=true",
		"after: needs=hello from the web service",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if !regexp.MustCompile(`port=[0-9]+ id=true`).MatchString(logs) {
		t.Errorf("job.services.web.ports['8080'] is empty:\n%s", logs)
	}
	if len(res.Summaries) != 1 || !strings.Contains(res.Summaries[0].Markdown, "summary from the container") {
		t.Errorf("summaries = %+v", res.Summaries)
	}
	// The job's workspace and pwd are the host's paths.
	if !strings.Contains(logs, "ws=") || strings.Contains(logs, "pwd=/\n") {
		t.Errorf("workspace not the working directory:\n%s", logs)
	}
	if l := leftovers(t, ""); len(l) > 0 {
		t.Errorf("left after the run: %v", l)
	}
}

func TestWorkflowCancelledMidStepLeavesNothing(t *testing.T) {
	src := `on: push
jobs:
  slow:
    runs-on: ubuntu-latest
    container: ` + jobImage + `
    services:
      web:
        image: ` + webImage + `
        options: --entrypoint /bin/serve
    steps:
      - run: echo started; sleep 300
      - if: always()
        run: echo cleanup-step-ran
`
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var running []string
	start := time.Now()
	res, ev, _ := runWorkflow(t, ctx, src, func(text string) {
		// Cancel once the long step runs, with its containers up.
		if text == "started" {
			running = leftovers(t, "")
			cancel()
		}
	})
	took := time.Since(start)
	if res.Status != store.StatusCancelled {
		t.Errorf("status %s, want cancelled:\n%s", res.Status, ev.logs())
	}
	if !strings.Contains(ev.logs(), "cleanup-step-ran") {
		t.Errorf("the always() step did not run in the container:\n%s", ev.logs())
	}
	if len(running) != 3 {
		t.Errorf("while the step ran: %v, want the job and service containers and the network", running)
	}
	if took > time.Minute {
		t.Errorf("the cancelled run took %v", took)
	}
	if l := leftovers(t, ""); len(l) > 0 {
		t.Errorf("left after the cancelled run: %v", l)
	}
}

func TestWorkflowMissingImage(t *testing.T) {
	src := `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    container: ghcr.io/nobody/missing:1
    steps:
      - run: echo never
`
	res, ev, _ := runWorkflow(t, context.Background(), src)
	logs := ev.logs()
	if res.Status != store.StatusFailure || !strings.Contains(logs, `image "ghcr.io/nobody/missing:1" is not in the Docker Engine`) || strings.Contains(logs, "never") {
		t.Errorf("status %s, logs:\n%s", res.Status, logs)
	}
	if l := leftovers(t, ""); len(l) > 0 {
		t.Errorf("left: %v", l)
	}
}

func TestHostExecutorRefusesContainerJobs(t *testing.T) {
	src := `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    container: ` + jobImage + `
    steps:
      - run: echo hi
`
	// The loader names the key for the host executor...
	if _, err := loadWorkflow(t, src, false); err == nil || !strings.Contains(err.Error(), `"container" in job "build" with the host executor`) {
		t.Errorf("load for the host executor: %v", err)
	}
	// ...and the engine too, should such a workflow reach it.
	wf, err := loadWorkflow(t, src, true)
	if err != nil {
		t.Fatal(err)
	}
	ws := t.TempDir()
	ev := &events{}
	res, err := engine.Run(context.Background(), engine.Options{Workflow: wf, Event: plan.Event{Name: "push"}, Workspace: ws,
		StateDir: filepath.Join(ws, store.DefaultDir), Executor: host.New(), Sink: ev.sink})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != store.StatusFailure || !strings.Contains(ev.logs(), `"container" needs the container executor; the host executor runs jobs on this machine`) {
		t.Errorf("status %s:\n%s", res.Status, ev.logs())
	}
}
