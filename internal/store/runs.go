package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Run statuses and job/step results. Job and step results use GitHub's
// words (success, failure, cancelled, skipped).
const (
	StatusQueued      = "queued"
	StatusRunning     = "running"
	StatusSuccess     = "success"
	StatusFailure     = "failure"
	StatusCancelled   = "cancelled"
	StatusSkipped     = "skipped"
	StatusInterrupted = "interrupted" // the process running it died (SIGKILL, power loss)
)

// ErrNotFound is returned when a run, job or artifact does not exist.
var ErrNotFound = errors.New("not found")

// Runs is the record type for workflow runs and everything under them.
// Writes from one process are serialized here: concurrent jobs would
// otherwise contend for SQLite's write lock and sleep in its busy handler.
type Runs struct {
	db *DB
	mu sync.Mutex
}

// NewRuns returns the run records of db.
func NewRuns(db *DB) *Runs { return &Runs{db: db} }

// lock serializes this process's writes.
func (r *Runs) lock() func() {
	r.mu.Lock()
	return r.mu.Unlock
}

// Run is one workflow run.
type Run struct {
	ID           int64           `json:"id"`
	Workflow     string          `json:"workflow"`
	WorkflowName string          `json:"workflow_name"`
	Event        string          `json:"event"`
	Ref          string          `json:"ref"`
	SHA          string          `json:"sha"`
	Status       string          `json:"status"`
	Params       json.RawMessage `json:"params"`
	RerunOf      int64           `json:"rerun_of,omitempty"`
	StartedAt    time.Time       `json:"started_at"`
	FinishedAt   *time.Time      `json:"finished_at,omitempty"`
}

// Job is one job (one matrix leg) of a run.
type Job struct {
	ID         int64             `json:"id"`
	RunID      int64             `json:"run_id"`
	Key        string            `json:"job"`
	Name       string            `json:"name"`
	Matrix     json.RawMessage   `json:"matrix,omitempty"`
	Status     string            `json:"status"`
	Outputs    map[string]string `json:"outputs,omitempty"`
	StartedAt  *time.Time        `json:"started_at,omitempty"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
}

// Step is one step of a job.
type Step struct {
	JobID      int64      `json:"-"`
	Index      int        `json:"index"`
	Key        string     `json:"id,omitempty"`
	Name       string     `json:"name"`
	Outcome    string     `json:"outcome"`
	Conclusion string     `json:"conclusion,omitempty"`
	ExitCode   *int       `json:"exit_code,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// LogLine is one masked line of a job's log.
type LogLine struct {
	Step int       `json:"step"`
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// Annotation is an ::error::, ::warning:: or ::notice:: a step printed.
type Annotation struct {
	JobID   int64  `json:"-"`
	Job     string `json:"job,omitempty"`
	Step    int    `json:"step"`
	Level   string `json:"level"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	EndLine int    `json:"end_line,omitempty"`
	EndCol  int    `json:"end_col,omitempty"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message"`
}

// Summary is the Markdown one step appended to GITHUB_STEP_SUMMARY.
type Summary struct {
	Job      string `json:"job"`
	Step     int    `json:"step"`
	Markdown string `json:"markdown"`
}

// Artifact is a named set of files uploaded by a run.
type Artifact struct {
	ID        int64      `json:"id"`
	RunID     int64      `json:"run_id"`
	Name      string     `json:"name"`
	Dir       string     `json:"dir"`
	Files     int        `json:"files"`
	Bytes     int64      `json:"bytes"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

const timeFmt = time.RFC3339Nano

func ts(t time.Time) string { return t.UTC().Format(timeFmt) }

func tsPtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return ts(*t)
}

func parseTime(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	t, err := time.Parse(timeFmt, s.String)
	if err != nil {
		return nil
	}
	return &t
}

// selfStart identifies this process: its pid and start time (from
// /proc/self/stat), so a later process can tell a dead run from a live one
// even when the pid was reused.
func selfStart() (int, string) { return os.Getpid(), procStart(os.Getpid()) }

func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // field 22: starttime
}

// CreateRun records a new run as running, owned by this process.
func (r *Runs) CreateRun(ctx context.Context, run *Run) (int64, error) {
	defer r.lock()()
	pid, start := selfStart()
	if run.StartedAt.IsZero() {
		run.StartedAt = time.Now()
	}
	if run.Status == "" {
		run.Status = StatusRunning
	}
	params := string(run.Params)
	if params == "" {
		params = "{}"
	}
	var rerun any
	if run.RerunOf != 0 {
		rerun = run.RerunOf
	}
	err := r.db.sql.QueryRowContext(ctx, `INSERT INTO runs(workflow, workflow_name, event, ref, sha, status, pid, pid_start, params, rerun_of, started_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
		run.Workflow, run.WorkflowName, run.Event, run.Ref, run.SHA, run.Status, pid, start, params, rerun, ts(run.StartedAt)).Scan(&run.ID)
	if err != nil {
		return 0, fmt.Errorf("store: create run: %w", err)
	}
	return run.ID, nil
}

// FinishRun sets a run's final status.
func (r *Runs) FinishRun(ctx context.Context, id int64, status string) error {
	defer r.lock()()
	_, err := r.db.sql.ExecContext(ctx, `UPDATE runs SET status = ?, finished_at = ? WHERE id = ?`, status, ts(time.Now()), id)
	return err
}

const runCols = `id, workflow, workflow_name, event, ref, sha, status, params, rerun_of, started_at, finished_at`

func scanRun(sc interface{ Scan(...any) error }) (*Run, error) {
	var run Run
	var params, started string
	var rerun sql.NullInt64
	var fin sql.NullString
	if err := sc.Scan(&run.ID, &run.Workflow, &run.WorkflowName, &run.Event, &run.Ref, &run.SHA, &run.Status, &params, &rerun, &started, &fin); err != nil {
		return nil, err
	}
	run.Params = json.RawMessage(params)
	run.RerunOf = rerun.Int64
	if t := parseTime(sql.NullString{String: started, Valid: true}); t != nil {
		run.StartedAt = *t
	}
	run.FinishedAt = parseTime(fin)
	return &run, nil
}

// GetRun returns one run; ErrNotFound when there is none with that id.
func (r *Runs) GetRun(ctx context.Context, id int64) (*Run, error) {
	run, err := scanRun(r.db.sql.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	return run, err
}

// ListRuns returns the newest runs first; limit <= 0 means all.
func (r *Runs) ListRuns(ctx context.Context, limit int) ([]*Run, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := r.db.sql.QueryContext(ctx, `SELECT `+runCols+` FROM runs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Run
	for rows.Next() {
		run, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, rows.Err()
}

// DeleteRun removes a run and everything under it (not the artifact files;
// the caller removes those).
func (r *Runs) DeleteRun(ctx context.Context, id int64) error {
	defer r.lock()()
	_, err := r.db.sql.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, id)
	return err
}

// MarkInterrupted finds runs still recorded as running whose process is
// gone (killed with SIGKILL, a crash, a reboot) and marks them, and their
// unfinished jobs and steps, interrupted. It returns the ids it marked.
func (r *Runs) MarkInterrupted(ctx context.Context) ([]int64, error) {
	defer r.lock()()
	rows, err := r.db.sql.QueryContext(ctx, `SELECT id, pid, pid_start FROM runs WHERE status IN ('running', 'queued')`)
	if err != nil {
		return nil, err
	}
	type owner struct {
		id    int64
		pid   int
		start string
	}
	var cands []owner
	for rows.Next() {
		var o owner
		if err := rows.Scan(&o.id, &o.pid, &o.start); err != nil {
			rows.Close()
			return nil, err
		}
		cands = append(cands, o)
	}
	rows.Close()
	var dead []int64
	for _, o := range cands {
		if o.pid != 0 && o.start != "" && procStart(o.pid) == o.start {
			continue // still running
		}
		dead = append(dead, o.id)
	}
	now := ts(time.Now())
	for _, id := range dead {
		err := r.db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE steps SET outcome = 'interrupted', conclusion = 'interrupted', finished_at = ? WHERE outcome IN ('running', 'queued') AND job_id IN (SELECT id FROM jobs WHERE run_id = ?)`, now, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = 'interrupted', finished_at = ? WHERE run_id = ? AND status IN ('running', 'queued')`, now, id); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ?`, now, id)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return dead, nil
}

// AddJob records a job of a run and returns its id.
func (r *Runs) AddJob(ctx context.Context, j *Job) (int64, error) {
	defer r.lock()()
	m := string(j.Matrix)
	if m == "" {
		m = "{}"
	}
	out, _ := json.Marshal(j.Outputs)
	if j.Outputs == nil {
		out = []byte("{}")
	}
	err := r.db.sql.QueryRowContext(ctx, `INSERT INTO jobs(run_id, job_key, name, matrix, status, outputs, started_at, finished_at) VALUES (?,?,?,?,?,?,?,?) RETURNING id`,
		j.RunID, j.Key, j.Name, m, j.Status, string(out), tsPtr(j.StartedAt), tsPtr(j.FinishedAt)).Scan(&j.ID)
	if err != nil {
		return 0, fmt.Errorf("store: add job %s: %w", j.Name, err)
	}
	return j.ID, nil
}

// UpdateJob writes a job's status, outputs and times.
func (r *Runs) UpdateJob(ctx context.Context, j *Job) error {
	defer r.lock()()
	return r.db.Tx(ctx, func(tx *sql.Tx) error { return updateJob(ctx, tx, j) })
}

func updateJob(ctx context.Context, tx *sql.Tx, j *Job) error {
	out, _ := json.Marshal(j.Outputs)
	if j.Outputs == nil {
		out = []byte("{}")
	}
	_, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, outputs = ?, started_at = ?, finished_at = ? WHERE id = ?`,
		j.Status, string(out), tsPtr(j.StartedAt), tsPtr(j.FinishedAt), j.ID)
	return err
}

// Jobs lists a run's jobs in the order they were recorded.
func (r *Runs) Jobs(ctx context.Context, runID int64) ([]*Job, error) {
	rows, err := r.db.sql.QueryContext(ctx, `SELECT id, run_id, job_key, name, matrix, status, outputs, started_at, finished_at FROM jobs WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		var j Job
		var m, o string
		var st, fin sql.NullString
		if err := rows.Scan(&j.ID, &j.RunID, &j.Key, &j.Name, &m, &j.Status, &o, &st, &fin); err != nil {
			return nil, err
		}
		j.Matrix = json.RawMessage(m)
		json.Unmarshal([]byte(o), &j.Outputs)
		j.StartedAt, j.FinishedAt = parseTime(st), parseTime(fin)
		out = append(out, &j)
	}
	return out, rows.Err()
}

// SaveStep inserts or replaces a step record.
func (r *Runs) SaveStep(ctx context.Context, s *Step) error {
	defer r.lock()()
	return r.db.Tx(ctx, func(tx *sql.Tx) error { return saveStep(ctx, tx, s) })
}

func saveStep(ctx context.Context, tx *sql.Tx, s *Step) error {
	var code any
	if s.ExitCode != nil {
		code = *s.ExitCode
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO steps(job_id, idx, step_key, name, outcome, conclusion, exit_code, started_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?)
		ON CONFLICT(job_id, idx) DO UPDATE SET step_key = excluded.step_key, name = excluded.name, outcome = excluded.outcome, conclusion = excluded.conclusion,
		exit_code = excluded.exit_code, started_at = excluded.started_at, finished_at = excluded.finished_at`,
		s.JobID, s.Index, s.Key, s.Name, s.Outcome, s.Conclusion, code, tsPtr(s.StartedAt), tsPtr(s.FinishedAt))
	return err
}

// Steps lists a job's steps in order.
func (r *Runs) Steps(ctx context.Context, jobID int64) ([]*Step, error) {
	rows, err := r.db.sql.QueryContext(ctx, `SELECT job_id, idx, step_key, name, outcome, conclusion, exit_code, started_at, finished_at FROM steps WHERE job_id = ? ORDER BY idx`, jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Step
	for rows.Next() {
		var s Step
		var code sql.NullInt64
		var st, fin sql.NullString
		if err := rows.Scan(&s.JobID, &s.Index, &s.Key, &s.Name, &s.Outcome, &s.Conclusion, &code, &st, &fin); err != nil {
			return nil, err
		}
		if code.Valid {
			c := int(code.Int64)
			s.ExitCode = &c
		}
		s.StartedAt, s.FinishedAt = parseTime(st), parseTime(fin)
		out = append(out, &s)
	}
	return out, rows.Err()
}

// AppendLogs adds masked lines to a job's log in one transaction; seq
// continues from the last stored line.
func (r *Runs) AppendLogs(ctx context.Context, jobID int64, lines []LogLine) error {
	defer r.lock()()
	if len(lines) == 0 {
		return nil
	}
	return r.db.Tx(ctx, func(tx *sql.Tx) error { return appendLogs(ctx, tx, jobID, lines) })
}

func appendLogs(ctx context.Context, tx *sql.Tx, jobID int64, lines []LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM logs WHERE job_id = ?`, jobID).Scan(&seq); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO logs(job_id, seq, step_idx, ts, line) VALUES (?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, l := range lines {
		seq++
		if _, err := st.ExecContext(ctx, jobID, seq, l.Step, ts(l.Time), l.Text); err != nil {
			return err
		}
	}
	return nil
}

// FinishStep records a finished step and the log lines it produced, in one
// transaction.
func (r *Runs) FinishStep(ctx context.Context, s *Step, lines []LogLine) error {
	defer r.lock()()
	return r.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := appendLogs(ctx, tx, s.JobID, lines); err != nil {
			return err
		}
		return saveStep(ctx, tx, s)
	})
}

// FinishJob records a job's final status and outputs with its last log
// lines, in one transaction.
func (r *Runs) FinishJob(ctx context.Context, j *Job, lines []LogLine) error {
	defer r.lock()()
	return r.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := appendLogs(ctx, tx, j.ID, lines); err != nil {
			return err
		}
		return updateJob(ctx, tx, j)
	})
}

// Logs returns a job's log lines in order.
func (r *Runs) Logs(ctx context.Context, jobID int64) ([]LogLine, error) {
	rows, err := r.db.sql.QueryContext(ctx, `SELECT step_idx, ts, line FROM logs WHERE job_id = ? ORDER BY seq`, jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LogLine
	for rows.Next() {
		var l LogLine
		var t string
		if err := rows.Scan(&l.Step, &t, &l.Text); err != nil {
			return nil, err
		}
		if p := parseTime(sql.NullString{String: t, Valid: true}); p != nil {
			l.Time = *p
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// AddAnnotation records an annotation.
func (r *Runs) AddAnnotation(ctx context.Context, a *Annotation) error {
	defer r.lock()()
	_, err := r.db.sql.ExecContext(ctx, `INSERT INTO annotations(job_id, step_idx, level, file, line, col, end_line, end_col, title, message) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		a.JobID, a.Step, a.Level, a.File, a.Line, a.Col, a.EndLine, a.EndCol, a.Title, a.Message)
	return err
}

// Annotations lists a run's annotations in the order they were made.
func (r *Runs) Annotations(ctx context.Context, runID int64) ([]*Annotation, error) {
	rows, err := r.db.sql.QueryContext(ctx, `SELECT a.job_id, j.name, a.step_idx, a.level, a.file, a.line, a.col, a.end_line, a.end_col, a.title, a.message FROM annotations a JOIN jobs j ON j.id = a.job_id WHERE j.run_id = ? ORDER BY a.id`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Annotation
	for rows.Next() {
		var a Annotation
		if err := rows.Scan(&a.JobID, &a.Job, &a.Step, &a.Level, &a.File, &a.Line, &a.Col, &a.EndLine, &a.EndCol, &a.Title, &a.Message); err != nil {
			return nil, err
		}
		out = append(out, &a)
	}
	return out, rows.Err()
}

// AddSummary records the Markdown a step wrote to GITHUB_STEP_SUMMARY.
func (r *Runs) AddSummary(ctx context.Context, jobID int64, step int, markdown string) error {
	defer r.lock()()
	_, err := r.db.sql.ExecContext(ctx, `INSERT INTO summaries(job_id, step_idx, markdown) VALUES (?,?,?) ON CONFLICT(job_id, step_idx) DO UPDATE SET markdown = excluded.markdown`, jobID, step, markdown)
	return err
}

// Summaries lists a run's step summaries, by job then step.
func (r *Runs) Summaries(ctx context.Context, runID int64) ([]*Summary, error) {
	rows, err := r.db.sql.QueryContext(ctx, `SELECT j.name, s.step_idx, s.markdown FROM summaries s JOIN jobs j ON j.id = s.job_id WHERE j.run_id = ? ORDER BY j.id, s.step_idx`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Summary
	for rows.Next() {
		var s Summary
		if err := rows.Scan(&s.Job, &s.Step, &s.Markdown); err != nil {
			return nil, err
		}
		out = append(out, &s)
	}
	return out, rows.Err()
}

// SaveArtifact records (or replaces, for v3's append semantics) an artifact.
func (r *Runs) SaveArtifact(ctx context.Context, a *Artifact) error {
	defer r.lock()()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	_, err := r.db.sql.ExecContext(ctx, `INSERT INTO artifacts(run_id, name, dir, files, bytes, created_at, expires_at) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT(run_id, name) DO UPDATE SET dir = excluded.dir, files = excluded.files, bytes = excluded.bytes, expires_at = excluded.expires_at`,
		a.RunID, a.Name, a.Dir, a.Files, a.Bytes, ts(a.CreatedAt), tsPtr(a.ExpiresAt))
	return err
}

// Artifacts lists a run's artifacts by name.
func (r *Runs) Artifacts(ctx context.Context, runID int64) ([]*Artifact, error) {
	return r.queryArtifacts(ctx, `WHERE run_id = ? ORDER BY name`, runID)
}

// ExpiredArtifacts lists artifacts whose retention ended before now.
func (r *Runs) ExpiredArtifacts(ctx context.Context, now time.Time) ([]*Artifact, error) {
	return r.queryArtifacts(ctx, `WHERE expires_at IS NOT NULL AND expires_at < ? ORDER BY id`, ts(now))
}

// DeleteArtifact removes an artifact record.
func (r *Runs) DeleteArtifact(ctx context.Context, id int64) error {
	defer r.lock()()
	_, err := r.db.sql.ExecContext(ctx, `DELETE FROM artifacts WHERE id = ?`, id)
	return err
}

func (r *Runs) queryArtifacts(ctx context.Context, where string, args ...any) ([]*Artifact, error) {
	rows, err := r.db.sql.QueryContext(ctx, `SELECT id, run_id, name, dir, files, bytes, created_at, expires_at FROM artifacts `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Artifact
	for rows.Next() {
		var a Artifact
		var c string
		var e sql.NullString
		if err := rows.Scan(&a.ID, &a.RunID, &a.Name, &a.Dir, &a.Files, &a.Bytes, &c, &e); err != nil {
			return nil, err
		}
		if t := parseTime(sql.NullString{String: c, Valid: true}); t != nil {
			a.CreatedAt = *t
		}
		a.ExpiresAt = parseTime(e)
		out = append(out, &a)
	}
	return out, rows.Err()
}
