package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunRecordsRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		r := NewRuns(db)
		id, err := r.CreateRun(ctx, &Run{Workflow: "ci.yml", Event: "push", Params: []byte(`{"inputs":{"a":"1"}}`)})
		if err != nil {
			t.Fatal(err)
		}
		j := &Job{RunID: id, Key: "build", Name: "build (1)", Status: StatusRunning}
		if _, err := r.AddJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		code := 0
		now := time.Now()
		r.SaveStep(ctx, &Step{JobID: j.ID, Index: 0, Name: "Run echo", Outcome: "success", Conclusion: "success", ExitCode: &code, StartedAt: &now})
		r.AppendLogs(ctx, j.ID, []LogLine{{Step: 0, Time: now, Text: "a"}, {Step: 0, Time: now, Text: "b"}})
		r.AppendLogs(ctx, j.ID, []LogLine{{Step: 1, Time: now, Text: "c"}})
		r.AddAnnotation(ctx, &Annotation{JobID: j.ID, Level: "error", File: "x.go", Line: 3, Message: "bad"})
		r.AddSummary(ctx, j.ID, 0, "# hi")
		r.SaveArtifact(ctx, &Artifact{RunID: id, Name: "dist", Dir: "/x", Files: 2, Bytes: 10})
		j.Status, j.Outputs = StatusSuccess, map[string]string{"v": "1"}
		r.UpdateJob(ctx, j)
		r.FinishRun(ctx, id, StatusSuccess)

		run, err := r.GetRun(ctx, id)
		if err != nil || run.Status != StatusSuccess || run.FinishedAt == nil || string(run.Params) != `{"inputs":{"a":"1"}}` {
			t.Fatalf("run %+v %v", run, err)
		}
		jobs, _ := r.Jobs(ctx, id)
		if len(jobs) != 1 || jobs[0].Outputs["v"] != "1" || jobs[0].Status != StatusSuccess {
			t.Fatalf("jobs %+v", jobs)
		}
		logs, _ := r.Logs(ctx, j.ID)
		if len(logs) != 3 || logs[2].Text != "c" || logs[2].Step != 1 {
			t.Fatalf("logs %+v", logs)
		}
		steps, _ := r.Steps(ctx, j.ID)
		if len(steps) != 1 || *steps[0].ExitCode != 0 {
			t.Fatalf("steps %+v", steps)
		}
		anns, _ := r.Annotations(ctx, id)
		sums, _ := r.Summaries(ctx, id)
		arts, _ := r.Artifacts(ctx, id)
		if len(anns) != 1 || anns[0].Job != "build (1)" || len(sums) != 1 || len(arts) != 1 {
			t.Fatalf("annotations %v summaries %v artifacts %v", anns, sums, arts)
		}
		if _, err := r.GetRun(ctx, 999); err == nil {
			t.Error("GetRun(999) found something")
		}
		if err := r.DeleteRun(ctx, id); err != nil {
			t.Fatal(err)
		}
		if jobs, _ := r.Jobs(ctx, id); len(jobs) != 0 {
			t.Error("jobs survive their run's deletion")
		}
	})
}

// A process writing a run is killed with SIGKILL mid-way: the store stays
// readable and consistent, and the next MarkInterrupted marks the run.
func TestSIGKILLedRunIsMarkedInterrupted(t *testing.T) {
	if os.Getenv("STORE_KILL_CHILD") != "" {
		childWriter(os.Getenv("STORE_KILL_CHILD"))
		return
	}
	dir := filepath.Join(t.TempDir(), ".shipgate")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILLedRunIsMarkedInterrupted$")
	cmd.Env = append(os.Environ(), "STORE_KILL_CHILD="+dir)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "ready" {
		t.Fatalf("child did not start writing: %q %v", buf, err)
	}
	time.Sleep(200 * time.Millisecond) // mid-way through its writes
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	ctx := context.Background()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("store after SIGKILL: %v", err)
	}
	defer db.Close()
	var check string
	db.SQL().QueryRow(`PRAGMA integrity_check`).Scan(&check)
	if check != "ok" {
		t.Fatalf("integrity_check: %s", check)
	}
	r := NewRuns(db)
	ids, err := r.MarkInterrupted(ctx)
	if err != nil || len(ids) != 1 {
		t.Fatalf("MarkInterrupted = %v, %v; want the killed run", ids, err)
	}
	run, _ := r.GetRun(ctx, ids[0])
	jobs, _ := r.Jobs(ctx, run.ID)
	if run.Status != StatusInterrupted || len(jobs) != 1 || jobs[0].Status != StatusInterrupted {
		t.Fatalf("run %s jobs %+v", run.Status, jobs)
	}
	logs, err := r.Logs(ctx, jobs[0].ID)
	if err != nil || len(logs) == 0 {
		t.Fatalf("logs after kill: %d %v", len(logs), err)
	}
	for i, l := range logs {
		if !strings.HasPrefix(l.Text, "line ") {
			t.Fatalf("log line %d = %q", i, l.Text)
		}
	}
	// Our own live run is not marked.
	id, _ := r.CreateRun(ctx, &Run{Workflow: "w", Event: "push"})
	if ids, _ := r.MarkInterrupted(ctx); len(ids) != 0 {
		t.Errorf("a live run was marked interrupted: %v (own %d)", ids, id)
	}
}

func childWriter(dir string) {
	ctx := context.Background()
	db, err := Open(ctx, dir)
	if err != nil {
		os.Exit(3)
	}
	r := NewRuns(db)
	id, _ := r.CreateRun(ctx, &Run{Workflow: "w.yml", Event: "push"})
	j := &Job{RunID: id, Key: "j", Name: "j", Status: StatusRunning}
	r.AddJob(ctx, j)
	os.Stdout.Write([]byte("ready"))
	for i := 0; ; i++ {
		var lines []LogLine
		for k := 0; k < 50; k++ {
			lines = append(lines, LogLine{Time: time.Now(), Text: "line " + strings.Repeat("x", k)})
		}
		r.AppendLogs(ctx, j.ID, lines)
		r.SaveStep(ctx, &Step{JobID: j.ID, Index: i, Name: "s", Outcome: StatusRunning})
	}
}
