package server

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/store"
)

// replicaRepo is a git repository with one short workflow, dispatch only.
func replicaRepo(t *testing.T, root string) string {
	t.Helper()
	dir := filepath.Join(root, "unit")
	wf := filepath.Join(dir, ".github", "workflows", "unit.yml")
	os.MkdirAll(filepath.Dir(wf), 0o755)
	os.WriteFile(wf, []byte(`name: unit
on: workflow_dispatch
jobs:
  unit:
    runs-on: ubuntu-latest
    steps:
      - run: sleep 0.2 && echo "unit of work done"
`), 0o644)
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

// enqueueUnits queues n runs of unit.yml straight into the store, as a
// burst of dispatches would.
func enqueueUnits(t *testing.T, st *store.Server, n int) (first, last int64) {
	t.Helper()
	items := make([]*store.QueueItem, n)
	for i := range items {
		items[i] = &store.QueueItem{Repo: "acme/unit", Workflow: ".github/workflows/unit.yml", Event: "workflow_dispatch",
			Ref: "refs/heads/main", Actor: "bob"}
	}
	if err := st.Enqueue(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	return items[0].ID, items[n-1].ID
}

// drain waits until no item in [first, last] is queued or running and
// returns how long it took.
func drain(t *testing.T, st *store.Server, first, last int64, limit time.Duration, during func(done int)) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		open, done := 0, 0
		items, err := st.Items(context.Background(), store.ItemFilter{Repo: "acme/unit", Limit: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.ID < first || it.ID > last {
				continue
			}
			if finishedStatus(it.Status) {
				done++
			} else {
				open++
			}
		}
		if open == 0 {
			return time.Since(start)
		}
		if during != nil {
			during(done)
		}
		if time.Since(start) > limit {
			t.Fatalf("after %v: %d runs finished, %d still open", limit, done, open)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestReplicasShareTheQueue: three server processes on one PostgreSQL
// database work through 1,000 queued runs; one is killed with SIGKILL
// mid-run. Every run must end in success exactly once: the runs the dead
// replica held are taken over when its lease runs out, run again (their
// attempt 2) and finish once. Throughput with one replica and with three
// is logged. SHIPGATE_REPLICA_RUNS changes the count.
func TestReplicasShareTheQueue(t *testing.T) {
	if backend != "postgres" {
		t.Skip("replicas share a PostgreSQL store: this test runs in the suite's PostgreSQL pass")
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("SHIPGATE_REPLICA_RUNS")); err == nil && v > 0 {
		n = v
	}
	root := t.TempDir()
	repo := replicaRepo(t, root)
	cfg := fmt.Sprintf("max_concurrent: 4\nrepositories:\n  - name: acme/unit\n    path: %s\n    webhook_secret: %s\n    max_concurrent: 100\n", repo, testSecret)
	cfgPath := filepath.Join(root, "server.yml")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	db := openStore(t, root)
	defer db.Close()
	st := store.NewServer(db)
	lease := []string{"SHIPGATE_TEST_LEASE=2s"}

	// One replica: the baseline throughput (a fifth of the runs).
	solo := max(n/5, 20)
	first, last := enqueueUnits(t, st, solo)
	one := startChild(t, root, cfgPath, append(lease, "SHIPGATE_TEST_REPLICA=solo")...)
	took := drain(t, st, first, last, 10*time.Minute, nil)
	one.kill(t)
	t.Logf("1 replica: %d runs in %v: %.1f runs/s", solo, took.Round(time.Millisecond), float64(solo)/took.Seconds())

	// Three replicas, one killed a third of the way through.
	first, last = enqueueUnits(t, st, n)
	var reps []*child
	for _, name := range []string{"r1", "r2", "r3"} {
		reps = append(reps, startChild(t, root, cfgPath, append(lease, "SHIPGATE_TEST_REPLICA="+name)...))
	}
	killed := false
	var killedHeld []int64
	took = drain(t, st, first, last, 15*time.Minute, func(done int) {
		if killed || done < n/3 {
			return
		}
		held, _ := st.Items(context.Background(), store.ItemFilter{Status: store.StatusRunning, Limit: 1 << 30})
		reps[1].kill(t)
		killed = true
		orphans, _ := st.OrphanedItems(context.Background(), time.Now().Add(time.Hour), "")
		for _, o := range orphans {
			if o.Owner == "r2" {
				killedHeld = append(killedHeld, o.ID)
			}
		}
		t.Logf("killed r2 (SIGKILL) after %d runs finished; it held %d of %d running", done, len(killedHeld), len(held))
	})
	t.Logf("3 replicas (one killed): %d runs in %v: %.1f runs/s", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	if !killed || len(killedHeld) == 0 {
		t.Fatalf("the kill did not land mid-run (killed=%v, held %v)", killed, killedHeld)
	}

	// Every run ended in success, once: one successful engine run each.
	items, err := st.Items(context.Background(), store.ItemFilter{Repo: "acme/unit", Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	status := map[int64]string{}
	attempts := map[int64]int{}
	for _, it := range items {
		if it.ID >= first && it.ID <= last {
			status[it.ID], attempts[it.ID] = it.Status, it.Attempts
		}
	}
	if len(status) != n {
		t.Fatalf("%d runs in the queue, want %d", len(status), n)
	}
	successes := map[int64]int{}
	rows, err := db.SQL().Query(`SELECT params, status FROM runs`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var params, s string
		rows.Scan(&params, &s)
		var p struct {
			ServerRun int64 `json:"server_run"`
		}
		json.Unmarshal([]byte(params), &p)
		if s == store.StatusSuccess {
			successes[p.ServerRun]++
		}
	}
	rows.Close()
	bad := 0
	for id, s := range status {
		if s != store.StatusSuccess || successes[id] != 1 {
			if bad++; bad <= 10 {
				t.Errorf("run %d: %s after %d attempts, %d successful executions", id, s, attempts[id], successes[id])
			}
		}
	}
	retried := 0
	for _, id := range killedHeld {
		if attempts[id] >= 2 {
			retried++
		}
	}
	if retried != len(killedHeld) {
		t.Errorf("%d of the %d runs r2 held were taken over and run again", retried, len(killedHeld))
	}
	for _, r := range []*child{reps[0], reps[2]} {
		r.kill(t)
	}
}
