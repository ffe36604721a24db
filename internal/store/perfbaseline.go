package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// PerfSeries is one benchmark's samples in one unit, as the perf gate keeps
// them in a baseline.
type PerfSeries struct {
	Pkg    string
	Name   string
	Unit   string
	Better int // -1 lower is better, +1 higher, 0 unknown
	Exact  bool
	Values []float64
}

// PerfBaseline is the stored baseline of a branch.
type PerfBaseline struct {
	Branch   string
	SavedAt  time.Time
	Revision string
	Series   []PerfSeries
}

// PerfBaselines keeps the perf gate's baselines, one per branch.
type PerfBaselines struct{ db *DB }

// PerfBaselines returns the perf baseline records of the store.
func (s *DB) PerfBaselines() *PerfBaselines { return &PerfBaselines{db: s} }

// ErrNoBaseline is returned by Load when a branch has no baseline.
var ErrNoBaseline = errors.New("no perf baseline stored")

// Save replaces the branch's baseline with b.
func (p *PerfBaselines) Save(ctx context.Context, b PerfBaseline) error {
	if b.Branch == "" {
		return errors.New("perf baseline: empty branch name")
	}
	return p.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM perf_baseline_series WHERE branch = ?`, b.Branch); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO perf_baselines(branch, saved_at, revision) VALUES (?, ?, ?)
			ON CONFLICT(branch) DO UPDATE SET saved_at = excluded.saved_at, revision = excluded.revision`,
			b.Branch, b.SavedAt.UTC().Format(time.RFC3339Nano), b.Revision); err != nil {
			return err
		}
		for i, s := range b.Series {
			vals, err := json.Marshal(s.Values)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO perf_baseline_series(branch, seq, pkg, name, unit, better, exact, vals) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				b.Branch, i, s.Pkg, s.Name, s.Unit, s.Better, boolInt(s.Exact), string(vals)); err != nil {
				return fmt.Errorf("perf baseline %s %s: %w", s.Name, s.Unit, err)
			}
		}
		return nil
	})
}

// Load returns the branch's baseline, or ErrNoBaseline.
func (p *PerfBaselines) Load(ctx context.Context, branch string) (*PerfBaseline, error) {
	b := &PerfBaseline{Branch: branch}
	var saved string
	err := p.db.sql.QueryRowContext(ctx, `SELECT saved_at, revision FROM perf_baselines WHERE branch = ?`, branch).Scan(&saved, &b.Revision)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w for branch %q", ErrNoBaseline, branch)
	}
	if err != nil {
		return nil, err
	}
	b.SavedAt, _ = time.Parse(time.RFC3339Nano, saved)
	rows, err := p.db.sql.QueryContext(ctx, `SELECT pkg, name, unit, better, exact, vals FROM perf_baseline_series WHERE branch = ? ORDER BY seq`, branch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s PerfSeries
		var vals string
		if err := rows.Scan(&s.Pkg, &s.Name, &s.Unit, &s.Better, &s.Exact, &vals); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(vals), &s.Values); err != nil {
			return nil, fmt.Errorf("perf baseline %s %s: %w", s.Name, s.Unit, err)
		}
		b.Series = append(b.Series, s)
	}
	return b, rows.Err()
}
