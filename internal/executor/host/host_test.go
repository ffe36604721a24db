package host

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/executor"
)

func setup(t *testing.T) (*Executor, *executor.Job) {
	t.Helper()
	e := New()
	e.Grace = 500 * time.Millisecond
	dir := t.TempDir()
	j := &executor.Job{ID: "j", Workspace: dir, TempDir: dir + "/tmp"}
	if err := e.Setup(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	return e, j
}

func env() []string { return []string{"PATH=" + os.Getenv("PATH")} }

func TestExecOutputAndExitCode(t *testing.T) {
	e, j := setup(t)
	var out bytes.Buffer
	res, err := e.Exec(context.Background(), j, &executor.Step{ID: "s", Argv: []string{"bash", "-c", "echo hi; pwd; exit 3"}, Env: env(), Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || res.Success() {
		t.Errorf("exit = %d, want 3", res.ExitCode)
	}
	if want := "hi\n" + j.Workspace + "\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	e.Teardown(context.Background(), j)
}

func TestMissingShellIsAnError(t *testing.T) {
	e, j := setup(t)
	_, err := e.Exec(context.Background(), j, &executor.Step{ID: "s", Argv: []string{"no-such-shell-xyz", "-c", "true"}, Env: env()})
	if err == nil || !strings.Contains(err.Error(), "no-such-shell-xyz") {
		t.Fatalf("err = %v, want one naming the missing program", err)
	}
}

// The process-cleanup test: a step that starts children (one ignoring
// SIGTERM) times out; afterwards no process of its group is left.
func TestTimeoutKillsWholeGroup(t *testing.T) {
	e, j := setup(t)
	var out syncBuffer
	script := `trap '' TERM; sleep 300 & sleep 300 & (trap '' TERM; sleep 300) & echo started; wait`
	start := time.Now()
	done := make(chan *executor.Result)
	var pgid int
	go func() {
		res, err := e.Exec(context.Background(), j, &executor.Step{ID: "s", Argv: []string{"bash", "-c", script}, Env: env(), Stdout: &out, Stderr: &out, Timeout: 700 * time.Millisecond, Grace: 300 * time.Millisecond})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// Count the group's processes while it runs.
	for pgid == 0 && time.Since(start) < 2*time.Second {
		st := j.State.(*jobState)
		st.mu.Lock()
		if len(st.groups) > 0 {
			pgid = st.groups[0]
		}
		st.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	before := len(GroupMembers(pgid))
	res := <-done
	if !res.TimedOut || res.Success() {
		t.Errorf("result %+v, want timed out", res)
	}
	if before < 4 {
		t.Errorf("only %d processes in the group while running, want >= 4 (bash and 3 children)", before)
	}
	if left := GroupMembers(pgid); len(left) != 0 {
		t.Errorf("%d processes of the timed-out step are still alive: %v", len(left), left)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("timeout took %v", el)
	}
}

func TestCancelKillsGroup(t *testing.T) {
	e, j := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *executor.Result)
	go func() {
		res, _ := e.Exec(ctx, j, &executor.Step{ID: "s", Argv: []string{"bash", "-c", "sleep 300 & sleep 300; wait"}, Env: env(), Grace: 200 * time.Millisecond})
		done <- res
	}()
	time.Sleep(300 * time.Millisecond)
	pgid := j.State.(*jobState).groups[0]
	if n := len(GroupMembers(pgid)); n < 2 {
		t.Fatalf("%d processes before cancel, want >= 2", n)
	}
	cancel()
	res := <-done
	if !res.Cancelled {
		t.Errorf("result %+v, want cancelled", res)
	}
	if left := GroupMembers(pgid); len(left) != 0 {
		t.Errorf("%d processes left after cancel", len(left))
	}
}

// A background process a step leaves running survives the step (as on
// GitHub) but not the job's Teardown, and does not hang the step.
func TestTeardownKillsBackgroundProcesses(t *testing.T) {
	e, j := setup(t)
	var out syncBuffer
	start := time.Now()
	res, err := e.Exec(context.Background(), j, &executor.Step{ID: "s", Argv: []string{"bash", "-c", "sleep 300 & echo bg"}, Env: env(), Stdout: &out, Stderr: &out})
	if err != nil || !res.Success() {
		t.Fatalf("%+v %v", res, err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("step with a background child took %v", time.Since(start))
	}
	pgid := j.State.(*jobState).groups[0]
	if len(GroupMembers(pgid)) != 1 {
		t.Fatalf("background sleep not running")
	}
	e.Teardown(context.Background(), j)
	if left := GroupMembers(pgid); len(left) != 0 {
		t.Errorf("%d processes left after Teardown", len(left))
	}
}
