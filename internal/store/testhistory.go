package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

// TestHistory keeps each test run's per-test results, so flakiness shows
// over time even when one run looks clean.
type TestHistory struct{ db *DB }

// NewTestHistory returns the test-history records of db.
func NewTestHistory(db *DB) *TestHistory { return &TestHistory{db: db} }

// TestRun is one recorded run of a test command.
type TestRun struct {
	ID        int64
	StartedAt time.Time
	Commit    string
	Branch    string
	Command   string
	Mode      string
}

// TestAttempt is one execution of one test within a run.
type TestAttempt struct {
	TestID  string
	Attempt int
	// Result is "passed", "failure", "error" or "skipped".
	Result  string
	Seconds float64
}

// Record stores a run and its attempts in one transaction and returns the
// run's ID.
func (h *TestHistory) Record(ctx context.Context, run TestRun, attempts []TestAttempt) (int64, error) {
	var id int64
	err := h.db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO test_runs(started_at, commit_sha, branch, command, mode) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			run.StartedAt.UTC().Format(time.RFC3339Nano), run.Commit, run.Branch, run.Command, run.Mode).Scan(&id)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO test_results(run_id, test_id, attempt, result, seconds) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(run_id, test_id, attempt) DO UPDATE SET result = excluded.result, seconds = excluded.seconds`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, a := range attempts {
			if _, err := stmt.ExecContext(ctx, id, a.TestID, a.Attempt, a.Result, a.Seconds); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: recording test run: %w", err)
	}
	return id, nil
}

// TestStat is a test's record over recent runs.
type TestStat struct {
	TestID string
	// Runs is how many recorded runs executed the test.
	Runs int
	// Attempts, Passes and Fails count executions (skips aside).
	Attempts, Passes, Fails int
	// Flips counts pass<->fail changes between consecutive executions,
	// in run and attempt order.
	Flips int
	// LastResult is the result of the latest execution.
	LastResult string
}

// FlipRate is Flips over the transitions that could flip (executions - 1).
func (s TestStat) FlipRate() float64 {
	if s.Attempts < 2 {
		return 0
	}
	return float64(s.Flips) / float64(s.Attempts-1)
}

// Stats returns each test's record over the last `lastRuns` runs (all runs
// when lastRuns <= 0).
func (h *TestHistory) Stats(ctx context.Context, lastRuns int) (map[string]TestStat, error) {
	if lastRuns <= 0 {
		lastRuns = math.MaxInt32 // LIMIT -1 is SQLite's "all"; PostgreSQL wants a count
	}
	rows, err := h.db.SQL().QueryContext(ctx, `
SELECT r.test_id, r.run_id, r.result FROM test_results r
WHERE r.run_id IN (SELECT id FROM test_runs ORDER BY id DESC LIMIT ?)
ORDER BY r.test_id, r.run_id, r.attempt`, lastRuns)
	if err != nil {
		return nil, fmt.Errorf("store: reading test history: %w", err)
	}
	defer rows.Close()
	out := map[string]TestStat{}
	var (
		cur      TestStat
		lastRun  int64 = -1
		lastBad  bool
		havePrev bool
	)
	flush := func() {
		if cur.TestID != "" {
			out[cur.TestID] = cur
		}
	}
	for rows.Next() {
		var id, result string
		var run int64
		if err := rows.Scan(&id, &run, &result); err != nil {
			return nil, err
		}
		if id != cur.TestID {
			flush()
			cur, lastRun, havePrev = TestStat{TestID: id}, -1, false
		}
		if run != lastRun {
			cur.Runs++
			lastRun = run
		}
		cur.LastResult = result
		if result == "skipped" {
			continue
		}
		bad := result == "failure" || result == "error"
		cur.Attempts++
		if bad {
			cur.Fails++
		} else {
			cur.Passes++
		}
		if havePrev && bad != lastBad {
			cur.Flips++
		}
		lastBad, havePrev = bad, true
	}
	flush()
	return out, rows.Err()
}

// Known returns which of ids have any recorded result.
func (h *TestHistory) Known(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	stmt, err := h.db.SQL().PrepareContext(ctx, `SELECT 1 FROM test_results WHERE test_id = ? LIMIT 1`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	for _, id := range ids {
		var one int
		err := stmt.QueryRowContext(ctx, id).Scan(&one)
		switch {
		case err == nil:
			out[id] = true
		case err == sql.ErrNoRows:
		default:
			return nil, err
		}
	}
	return out, nil
}

// RunCount is the number of recorded runs.
func (h *TestHistory) RunCount(ctx context.Context) (int, error) {
	var n int
	err := h.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM test_runs`).Scan(&n)
	return n, err
}
