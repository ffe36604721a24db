package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Deployment results.
const (
	DeployRunning   = "running"
	DeploySucceeded = "succeeded"
	DeployFailed    = "failed"
)

// Deployment is one deployment attempt: what went where, when, and how it
// ended. The DORA metrics are computed from these records.
type Deployment struct {
	ID         int64     `json:"id"`
	Env        string    `json:"env"`
	Version    string    `json:"version"`
	Previous   string    `json:"previous,omitempty"`
	Commit     string    `json:"commit,omitempty"`
	CommitTime time.Time `json:"commitTime,omitzero"`
	Provider   string    `json:"provider,omitempty"`
	Strategy   string    `json:"strategy,omitempty"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished,omitzero"`
	Result     string    `json:"result"`
	Reason     string    `json:"reason,omitempty"`
	RolledBack bool      `json:"rolledBack"`
	ApprovedBy string    `json:"approvedBy,omitempty"`
	// Steps is a JSON document of the rollout's steps (weights, analysis
	// verdicts, smoke checks), kept as the deploy package wrote it.
	Steps string `json:"-"`
}

// Deployments keeps deployment records.
type Deployments struct{ db *DB }

// Deployments returns the deployment records of the store.
func (s *DB) Deployments() *Deployments { return &Deployments{db: s} }

// ErrNoDeployment is returned when a deployment record does not exist.
var ErrNoDeployment = errors.New("no such deployment")

func deployTimeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func deployTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// Start inserts d (result running unless set) and returns its id.
func (d *Deployments) Start(ctx context.Context, dep Deployment) (int64, error) {
	if dep.Env == "" || dep.Version == "" {
		return 0, errors.New("deployment: env and version are required")
	}
	if dep.Result == "" {
		dep.Result = DeployRunning
	}
	if dep.Started.IsZero() {
		dep.Started = time.Now()
	}
	if dep.Steps == "" {
		dep.Steps = "[]"
	}
	var id int64
	err := d.db.sql.QueryRowContext(ctx, `INSERT INTO deployments(env, version, previous, commit_sha, commit_time, provider, strategy, started_at, finished_at, result, reason, rolled_back, approved_by, steps)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		dep.Env, dep.Version, dep.Previous, dep.Commit, deployTimeText(dep.CommitTime), dep.Provider, dep.Strategy,
		deployTimeText(dep.Started), deployTimeText(dep.Finished), dep.Result, dep.Reason, boolInt(dep.RolledBack), dep.ApprovedBy, dep.Steps).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("deployment: %w", err)
	}
	return id, nil
}

// Finish records how deployment id ended.
func (d *Deployments) Finish(ctx context.Context, id int64, result, reason string, rolledBack bool, finished time.Time, steps string) error {
	if steps == "" {
		steps = "[]"
	}
	res, err := d.db.sql.ExecContext(ctx, `UPDATE deployments SET result = ?, reason = ?, rolled_back = ?, finished_at = ?, steps = ? WHERE id = ?`,
		result, reason, boolInt(rolledBack), deployTimeText(finished), steps, id)
	if err != nil {
		return fmt.Errorf("deployment %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %d", ErrNoDeployment, id)
	}
	return nil
}

// Get returns deployment id.
func (d *Deployments) Get(ctx context.Context, id int64) (*Deployment, error) {
	rows, err := d.db.sql.QueryContext(ctx, deploySelect+` WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	list, err := scanDeployments(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: %d", ErrNoDeployment, id)
	}
	return &list[0], nil
}

// List returns the deployments of env ("" for every environment) started
// at or after since (zero: all), oldest first.
func (d *Deployments) List(ctx context.Context, env string, since time.Time) ([]Deployment, error) {
	q := deploySelect + ` WHERE (? = '' OR env = ?) AND started_at >= ? ORDER BY started_at, id`
	rows, err := d.db.sql.QueryContext(ctx, q, env, env, deployTimeText(since))
	if err != nil {
		return nil, err
	}
	return scanDeployments(rows)
}

const deploySelect = `SELECT id, env, version, previous, commit_sha, commit_time, provider, strategy, started_at, finished_at, result, reason, rolled_back, approved_by, steps FROM deployments`

func scanDeployments(rows *sql.Rows) ([]Deployment, error) {
	defer rows.Close()
	var out []Deployment
	for rows.Next() {
		var dep Deployment
		var commitTime, started, finished string
		if err := rows.Scan(&dep.ID, &dep.Env, &dep.Version, &dep.Previous, &dep.Commit, &commitTime, &dep.Provider, &dep.Strategy,
			&started, &finished, &dep.Result, &dep.Reason, &dep.RolledBack, &dep.ApprovedBy, &dep.Steps); err != nil {
			return nil, err
		}
		dep.CommitTime, dep.Started, dep.Finished = deployTime(commitTime), deployTime(started), deployTime(finished)
		out = append(out, dep)
	}
	return out, rows.Err()
}
