package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/engine"
	"github.com/shipgate/shipgate/internal/store"
)

// The live view (what a terminal shows): every job from the start, legs
// taking over their job's line, states and the progress count, redrawn in
// place with cursor-up and clear.
func TestLiveView(t *testing.T) {
	var b bytes.Buffer
	v := newRunView(&b, false, false, false)
	now := time.Now()
	for _, e := range []engine.Event{
		{Type: "run_started", Total: 2},
		{Type: "job_queued", JobID: "test", Job: "test"},
		{Type: "job_queued", JobID: "deploy", Job: "deploy"},
		{Type: "job_started", JobID: "test", Job: "test (1)", Time: now},
		{Type: "job_started", JobID: "test", Job: "test (2)", Time: now},
		{Type: "step_started", JobID: "test", Job: "test (1)", Step: "Run make"},
		{Type: "annotation", JobID: "test", Job: "test (2)", Level: "error", Text: "boom", File: "a.go", Line: 3, Col: 1},
		{Type: "job_finished", JobID: "test", Job: "test (2)", Status: "failure", Time: now.Add(time.Second)},
		{Type: "job_finished", JobID: "test", Job: "test (1)", Status: "success", Time: now.Add(2 * time.Second)},
		{Type: "job_finished", JobID: "deploy", Job: "deploy", Status: "skipped", Time: now.Add(2 * time.Second)},
	} {
		v.event(e)
		time.Sleep(110 * time.Millisecond) // let each event redraw
	}
	v.close()
	out := b.String()
	if !strings.Contains(out, "\x1b[") {
		t.Fatalf("no in-place redraw:\n%q", out)
	}
	frames := regexp.MustCompile(`\x1b\[\d+A\x1b\[J`).Split(out, -1)
	last := frames[len(frames)-1]
	for _, w := range []string{"✓ test (1)", "✗ test (2)", "- deploy", "3/3 jobs done"} {
		if !strings.Contains(last, w) {
			t.Errorf("final frame lacks %q:\n%s", w, last)
		}
	}
	if strings.Contains(last, "· test ") {
		t.Errorf("the queued placeholder for test survived:\n%s", last)
	}
	if !strings.Contains(out, "[test (2)] error a.go:3:1: boom") {
		t.Errorf("annotation not printed above the board:\n%s", out)
	}
	if !strings.Contains(out, "Run make") {
		t.Errorf("running step not shown")
	}
}

// Artifacts past retention-days are deleted by gc, files and record.
func TestGCDeletesExpiredArtifacts(t *testing.T) {
	ws, wf := repo(t, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: mkdir -p out && echo x > out/f\n      - uses: actions/upload-artifact@v4\n        with: {name: out, path: out, retention-days: 1}\n")
	st := filepath.Join(ws, ".shipgate")
	if _, _, code := run(t, "run", "-W", wf, "--plain"); code != 0 {
		t.Fatal("run failed")
	}
	dir := filepath.Join(st, "artifacts", "1", "out")
	if _, err := os.Stat(filepath.Join(dir, "f")); err != nil {
		t.Fatal(err)
	}
	out, _, _ := run(t, "gc", "--json", "--store", st)
	if !strings.Contains(out, `"artifacts_deleted": []`) {
		t.Errorf("an unexpired artifact was deleted: %s", out)
	}
	db, err := store.Open(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	db.SQL().Exec(`UPDATE artifacts SET expires_at = '2000-01-01T00:00:00Z'`)
	db.Close()
	out, _, code := run(t, "gc", "--json", "--store", st)
	if code != 0 || !strings.Contains(out, `"1/out"`) {
		t.Errorf("gc: %d %s", code, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("artifact files left: %v", err)
	}
	out, _, _ = run(t, "runs", "show", "1", "--json", "--store", st)
	if !strings.Contains(out, `"artifacts": []`) {
		t.Errorf("artifact record left: %s", out)
	}
}
