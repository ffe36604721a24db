package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// CoverageHistory keeps the coverage of recorded runs per branch.
type CoverageHistory struct{ db *DB }

// NewCoverageHistory returns the coverage records of db.
func NewCoverageHistory(db *DB) *CoverageHistory { return &CoverageHistory{db: db} }

// CoverageRun is one recorded coverage figure.
type CoverageRun struct {
	ID        int64
	CreatedAt time.Time
	Branch    string
	Commit    string
	Unit      string
	Percent   float64
	// Modules maps a module name to its percentage.
	Modules map[string]float64
}

// Record stores a run.
func (h *CoverageHistory) Record(ctx context.Context, r CoverageRun) (int64, error) {
	mods, err := json.Marshal(r.Modules)
	if err != nil {
		return 0, err
	}
	var id int64
	err = h.db.SQL().QueryRowContext(ctx, `INSERT INTO coverage_runs(created_at, branch, commit_sha, unit, percent, modules) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		r.CreatedAt.UTC().Format(time.RFC3339Nano), r.Branch, r.Commit, r.Unit, r.Percent, string(mods)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: recording coverage: %w", err)
	}
	return id, nil
}

// Last returns the latest run recorded for branch; ok is false when there
// is none.
func (h *CoverageHistory) Last(ctx context.Context, branch string) (CoverageRun, bool, error) {
	var (
		r       CoverageRun
		created string
		mods    string
	)
	err := h.db.SQL().QueryRowContext(ctx, `SELECT id, created_at, branch, commit_sha, unit, percent, modules FROM coverage_runs WHERE branch = ? ORDER BY id DESC LIMIT 1`, branch).
		Scan(&r.ID, &created, &r.Branch, &r.Commit, &r.Unit, &r.Percent, &mods)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("store: reading coverage: %w", err)
	}
	r.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	if err := json.Unmarshal([]byte(mods), &r.Modules); err != nil {
		return r, false, fmt.Errorf("store: coverage run %d: %w", r.ID, err)
	}
	return r, true, nil
}
