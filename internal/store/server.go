package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Server is the record type for `shipgate serve`: users, hashed tokens,
// sessions, webhook deliveries, the run queue, approvals and the audit log.
// The SQL is portable (see migrations/server_001.sql) so a PostgreSQL
// implementation of the same methods can follow.
type Server struct{ db *DB }

// NewServer returns the server records of db.
func NewServer(db *DB) *Server { return &Server{db: db} }

// ErrDuplicate is returned when a delivery ID (or a user name) was seen before.
var ErrDuplicate = errors.New("duplicate")

// User is a server account.
type User struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// QueueItem is one queued (or finished) server run.
type QueueItem struct {
	ID               int64             `json:"id"`
	Repo             string            `json:"repo"`
	Workflow         string            `json:"workflow"`
	Event            string            `json:"event"`
	Ref              string            `json:"ref"`
	SHA              string            `json:"sha"`
	Actor            string            `json:"actor"`
	Inputs           map[string]string `json:"inputs,omitempty"`
	Payload          json.RawMessage   `json:"-"`
	Group            string            `json:"concurrency_group,omitempty"`
	CancelInProgress bool              `json:"cancel_in_progress,omitempty"`
	Status           string            `json:"status"`
	RunID            int64             `json:"run_id,omitempty"`
	Attempts         int               `json:"attempts"`
	Message          string            `json:"message,omitempty"`
	CreatedAt        time.Time         `json:"created_at"`
	StartedAt        *time.Time        `json:"started_at,omitempty"`
	FinishedAt       *time.Time        `json:"finished_at,omitempty"`
}

// Approval is a job waiting on (or decided for) a protected environment.
type Approval struct {
	ID          int64      `json:"id"`
	QueueID     int64      `json:"run"`
	Job         string     `json:"job"`
	Environment string     `json:"environment"`
	Status      string     `json:"status"`
	RequestedBy string     `json:"requested_by"`
	Checklist   []string   `json:"checklist"`
	Checked     []string   `json:"checked,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	WaitUntil   time.Time  `json:"wait_until"`
	Deadline    time.Time  `json:"deadline"`
	DecidedBy   string     `json:"decided_by,omitempty"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	Comment     string     `json:"comment,omitempty"`
}

// Approval statuses.
const (
	ApprovalWaiting   = "waiting"
	ApprovalApproved  = "approved"
	ApprovalRejected  = "rejected"
	ApprovalTimedOut  = "timed_out"
	ApprovalCancelled = "cancelled"
)

// AuditEntry is one line of the audit log: who did what, when.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE") || strings.Contains(err.Error(), "duplicate key"))
}

// --- users, tokens, sessions ---

// CreateUser adds a user; a taken name is ErrDuplicate.
func (s *Server) CreateUser(ctx context.Context, u *User) error {
	u.CreatedAt = time.Now().UTC()
	err := s.db.sql.QueryRowContext(ctx, `INSERT INTO server_users(name, role, password_hash, created_at) VALUES (?,?,?,?) RETURNING id`,
		u.Name, u.Role, u.PasswordHash, ts(u.CreatedAt)).Scan(&u.ID)
	if isUnique(err) {
		return fmt.Errorf("user %q: %w", u.Name, ErrDuplicate)
	}
	return err
}

// SetPassword replaces a user's password hash.
func (s *Server) SetPassword(ctx context.Context, id int64, hash string) error {
	_, err := s.db.sql.ExecContext(ctx, `UPDATE server_users SET password_hash = ? WHERE id = ?`, hash, id)
	return err
}

func scanUser(sc interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created string
	if err := sc.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	u.CreatedAt, _ = time.Parse(timeFmt, created)
	return &u, nil
}

const userCols = `u.id, u.name, u.role, u.password_hash, u.created_at`

// UserByName finds a user.
func (s *Server) UserByName(ctx context.Context, name string) (*User, error) {
	return scanUser(s.db.sql.QueryRowContext(ctx, `SELECT `+userCols+` FROM server_users u WHERE u.name = ?`, name))
}

// Users lists users by name.
func (s *Server) Users(ctx context.Context) ([]*User, error) {
	return queryAll(ctx, s.db.sql, scanUser, `SELECT `+userCols+` FROM server_users u ORDER BY u.name`)
}

// AddToken stores a token's hash for a user.
func (s *Server) AddToken(ctx context.Context, userID int64, hash, name string) error {
	_, err := s.db.sql.ExecContext(ctx, `INSERT INTO server_tokens(hash, user_id, name, created_at) VALUES (?,?,?,?)`, hash, userID, name, ts(time.Now()))
	return err
}

// UserByToken finds the user owning a token hash.
func (s *Server) UserByToken(ctx context.Context, hash string) (*User, error) {
	u, err := scanUser(s.db.sql.QueryRowContext(ctx, `SELECT `+userCols+` FROM server_tokens t JOIN server_users u ON u.id = t.user_id WHERE t.hash = ?`, hash))
	if err == nil {
		s.db.sql.ExecContext(ctx, `UPDATE server_tokens SET last_used_at = ? WHERE hash = ?`, ts(time.Now()), hash)
	}
	return u, err
}

// TokenHashes lists every stored token hash (for tests and audits).
func (s *Server) TokenHashes(ctx context.Context) ([]string, error) {
	rows, err := s.db.sql.QueryContext(ctx, `SELECT hash FROM server_tokens ORDER BY hash`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// CreateSession stores a session (by its cookie's hash) with its CSRF token.
func (s *Server) CreateSession(ctx context.Context, hash string, userID int64, csrf string, expires time.Time) error {
	_, err := s.db.sql.ExecContext(ctx, `INSERT INTO server_sessions(hash, user_id, csrf, expires_at) VALUES (?,?,?,?)`, hash, userID, csrf, ts(expires))
	return err
}

// Session returns the user and CSRF token of a live session.
func (s *Server) Session(ctx context.Context, hash string) (*User, string, error) {
	var csrf, exp string
	var u User
	var created string
	err := s.db.sql.QueryRowContext(ctx, `SELECT `+userCols+`, s.csrf, s.expires_at FROM server_sessions s JOIN server_users u ON u.id = s.user_id WHERE s.hash = ?`, hash).
		Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &created, &csrf, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	if t, _ := time.Parse(timeFmt, exp); time.Now().After(t) {
		s.DeleteSession(ctx, hash)
		return nil, "", ErrNotFound
	}
	return &u, csrf, nil
}

// DeleteSession logs a session out.
func (s *Server) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.db.sql.ExecContext(ctx, `DELETE FROM server_sessions WHERE hash = ?`, hash)
	return err
}

// --- deliveries and the queue ---

// Delivery is a verified webhook delivery waiting to become runs.
type Delivery struct {
	ID, Event, Repo string
	Payload         json.RawMessage
	ReceivedAt      time.Time
}

// AddDelivery stores a verified delivery as pending; a delivery ID seen
// before is ErrDuplicate.
func (s *Server) AddDelivery(ctx context.Context, d *Delivery) error {
	d.ReceivedAt = time.Now().UTC()
	_, err := s.db.sql.ExecContext(ctx, `INSERT INTO server_deliveries(id, event, repo, payload, status, received_at) VALUES (?,?,?,?,?,?)`,
		d.ID, d.Event, d.Repo, string(d.Payload), "pending", ts(d.ReceivedAt))
	if isUnique(err) {
		return fmt.Errorf("delivery %s: %w", d.ID, ErrDuplicate)
	}
	return err
}

// PendingDeliveries lists deliveries not yet expanded, oldest first.
func (s *Server) PendingDeliveries(ctx context.Context, limit int) ([]*Delivery, error) {
	rows, err := s.db.sql.QueryContext(ctx, fmt.Sprintf(`SELECT id, event, repo, payload, received_at FROM server_deliveries WHERE status = 'pending' ORDER BY received_at, id LIMIT %d`, limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Delivery
	for rows.Next() {
		var d Delivery
		var payload, at string
		if err := rows.Scan(&d.ID, &d.Event, &d.Repo, &payload, &at); err != nil {
			return nil, err
		}
		d.Payload = json.RawMessage(payload)
		d.ReceivedAt, _ = time.Parse(timeFmt, at)
		out = append(out, &d)
	}
	return out, rows.Err()
}

// DeliveryCounts counts deliveries by status and the runs they queued.
func (s *Server) DeliveryCounts(ctx context.Context) (map[string]int, int, error) {
	rows, err := s.db.sql.QueryContext(ctx, `SELECT status, COUNT(*), SUM(queued) FROM server_deliveries GROUP BY status`)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := map[string]int{}
	runs := 0
	for rows.Next() {
		var st string
		var n, q int
		if err := rows.Scan(&st, &n, &q); err != nil {
			return nil, 0, err
		}
		out[st] = n
		runs += q
	}
	return out, runs, rows.Err()
}

// CompleteDelivery queues a delivery's runs and marks it done (status
// queued, or error with a message) in one transaction, so a delivery is
// expanded exactly once even across a crash.
func (s *Server) CompleteDelivery(ctx context.Context, id, status, message string, items []*QueueItem) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Mark first: of replicas expanding the same delivery, the second
		// finds it done (its update waits for the first) and queues nothing.
		res, err := tx.ExecContext(ctx, `UPDATE server_deliveries SET status = ?, message = ?, queued = ?, payload = '{}' WHERE id = ? AND status = 'pending'`, status, message, len(items), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return insertItems(ctx, tx, items)
	})
}

// Enqueue queues items (an API dispatch).
func (s *Server) Enqueue(ctx context.Context, items []*QueueItem) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error { return insertItems(ctx, tx, items) })
}

func insertItems(ctx context.Context, tx *sql.Tx, items []*QueueItem) error {
	for _, it := range items {
		it.CreatedAt = time.Now().UTC()
		it.Status = StatusQueued
		in, _ := json.Marshal(it.Inputs)
		payload := string(it.Payload)
		if payload == "" {
			payload = "{}"
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO server_queue(repo, workflow, event, ref, sha, actor, inputs, payload, cgroup, cancel_in_progress, status, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			it.Repo, it.Workflow, it.Event, it.Ref, it.SHA, it.Actor, string(in), payload, it.Group, boolInt(it.CancelInProgress), it.Status, ts(it.CreatedAt)).Scan(&it.ID)
		if err != nil {
			return err
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

const queueCols = `id, repo, workflow, event, ref, sha, actor, inputs, payload, cgroup, cancel_in_progress, status, run_id, attempts, message, created_at, started_at, finished_at`

// scanQueueItem reads the queueCols of a row.
func scanQueueItem(sc interface{ Scan(...any) error }) (*QueueItem, error) { return scanItem(sc) }

// scanItem reads the queueCols of a row, then extra columns into extra.
func scanItem(sc interface{ Scan(...any) error }, extra ...any) (*QueueItem, error) {
	var it QueueItem
	var in, payload, created string
	var started, finished sql.NullString
	var cip int
	dst := []any{&it.ID, &it.Repo, &it.Workflow, &it.Event, &it.Ref, &it.SHA, &it.Actor, &in, &payload, &it.Group, &cip, &it.Status, &it.RunID, &it.Attempts, &it.Message, &created, &started, &finished}
	if err := sc.Scan(append(dst, extra...)...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	it.CancelInProgress = cip != 0
	json.Unmarshal([]byte(in), &it.Inputs)
	it.Payload = json.RawMessage(payload)
	it.CreatedAt, _ = time.Parse(timeFmt, created)
	it.StartedAt = parseTime(started)
	it.FinishedAt = parseTime(finished)
	return &it, nil
}

// Item returns one queue item.
func (s *Server) Item(ctx context.Context, id int64) (*QueueItem, error) {
	return scanItem(s.db.sql.QueryRowContext(ctx, `SELECT `+queueCols+` FROM server_queue WHERE id = ?`, id))
}

// ItemFilter selects queue items; empty fields match everything.
type ItemFilter struct {
	Repo, Status, Workflow, Ref, Actor string
	Limit                              int
}

// Items lists queue items, newest first.
func (s *Server) Items(ctx context.Context, f ItemFilter) ([]*QueueItem, error) {
	q := `SELECT ` + queueCols + ` FROM server_queue WHERE 1=1`
	var args []any
	for _, c := range []struct{ col, v string }{{"repo", f.Repo}, {"status", f.Status}, {"workflow", f.Workflow}, {"ref", f.Ref}, {"actor", f.Actor}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, f.Limit)
	return queryAll(ctx, s.db.sql, scanQueueItem, q, args...)
}

// QueuedWindow is how many of the oldest queued items a dispatcher
// considers at once.
const QueuedWindow = 500

// QueuedItems lists the oldest items waiting to start (QueuedWindow at
// most), oldest first.
func (s *Server) QueuedItems(ctx context.Context) ([]*QueueItem, error) {
	return queryAll(ctx, s.db.sql, scanQueueItem, fmt.Sprintf(`SELECT `+queueCols+` FROM server_queue WHERE status = ? ORDER BY id LIMIT %d`, QueuedWindow), StatusQueued)
}

// SetItemRun records the engine run of the item's current attempt.
func (s *Server) SetItemRun(ctx context.Context, id, runID int64) error {
	_, err := s.db.sql.ExecContext(ctx, `UPDATE server_queue SET run_id = ? WHERE id = ?`, runID, id)
	return err
}

// InterruptRun marks an engine run and its unfinished jobs interrupted
// (the server that ran it died). It keeps the logs written so far.
func (s *Server) InterruptRun(ctx context.Context, runID int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := ts(time.Now())
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, finished_at = ? WHERE id = ? AND status = ?`, StatusInterrupted, now, runID, StatusRunning); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, finished_at = ? WHERE run_id = ? AND status IN (?, ?)`, StatusInterrupted, now, runID, StatusRunning, StatusQueued); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE steps SET outcome = ?, finished_at = ? WHERE outcome = ? AND job_id IN (SELECT id FROM jobs WHERE run_id = ?)`, StatusInterrupted, now, StatusRunning, runID)
		return err
	})
}

// --- approvals ---

const approvalCols = `id, queue_id, job, environment, status, requested_by, checklist, checked, created_at, wait_until, deadline, decided_by, decided_at, comment`

func scanApproval(sc interface{ Scan(...any) error }) (*Approval, error) {
	var a Approval
	var list, checked, created, wait, deadline string
	var decided sql.NullString
	if err := sc.Scan(&a.ID, &a.QueueID, &a.Job, &a.Environment, &a.Status, &a.RequestedBy, &list, &checked, &created, &wait, &deadline, &a.DecidedBy, &decided, &a.Comment); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	json.Unmarshal([]byte(list), &a.Checklist)
	json.Unmarshal([]byte(checked), &a.Checked)
	a.CreatedAt, _ = time.Parse(timeFmt, created)
	a.WaitUntil, _ = time.Parse(timeFmt, wait)
	a.Deadline, _ = time.Parse(timeFmt, deadline)
	a.DecidedAt = parseTime(decided)
	return &a, nil
}

// RequestApproval returns the approval for (queue item, job, environment),
// creating it as waiting when there is none: a resumed run finds the
// request (and any decision) it made before a restart.
func (s *Server) RequestApproval(ctx context.Context, a *Approval) (*Approval, error) {
	got, err := scanApproval(s.db.sql.QueryRowContext(ctx, `SELECT `+approvalCols+` FROM server_approvals WHERE queue_id = ? AND job = ? AND environment = ?`, a.QueueID, a.Job, a.Environment))
	if err == nil {
		return got, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	a.Status = ApprovalWaiting
	a.CreatedAt = time.Now().UTC()
	list, _ := json.Marshal(nonNil(a.Checklist))
	err = s.db.sql.QueryRowContext(ctx, `INSERT INTO server_approvals(queue_id, job, environment, status, requested_by, checklist, created_at, wait_until, deadline) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id`,
		a.QueueID, a.Job, a.Environment, a.Status, a.RequestedBy, string(list), ts(a.CreatedAt), ts(a.WaitUntil), ts(a.Deadline)).Scan(&a.ID)
	return a, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// GetApproval returns one approval.
func (s *Server) GetApproval(ctx context.Context, id int64) (*Approval, error) {
	return scanApproval(s.db.sql.QueryRowContext(ctx, `SELECT `+approvalCols+` FROM server_approvals WHERE id = ?`, id))
}

// Approvals lists approvals of one run (queueID > 0) or with a status
// (status != ""), oldest first.
func (s *Server) Approvals(ctx context.Context, queueID int64, status string) ([]*Approval, error) {
	q := `SELECT ` + approvalCols + ` FROM server_approvals WHERE 1=1`
	var args []any
	if queueID > 0 {
		q += ` AND queue_id = ?`
		args = append(args, queueID)
	}
	if status != "" {
		q += ` AND status = ?`
		args = append(args, status)
	}
	return queryAll(ctx, s.db.sql, scanApproval, q+` ORDER BY id`, args...)
}

// DecideApproval records a decision on a waiting approval; one already
// decided is an error naming its status.
func (s *Server) DecideApproval(ctx context.Context, id int64, status, by, comment string, checked []string) error {
	c, _ := json.Marshal(nonNil(checked))
	res, err := s.db.sql.ExecContext(ctx, `UPDATE server_approvals SET status = ?, decided_by = ?, decided_at = ?, comment = ?, checked = ? WHERE id = ? AND status = ?`,
		status, by, ts(time.Now()), comment, string(c), id, ApprovalWaiting)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		a, err := s.GetApproval(ctx, id)
		if err != nil {
			return err
		}
		return fmt.Errorf("approval %d is already %s", id, a.Status)
	}
	return nil
}

// --- audit ---

// Audit appends to the audit log.
func (s *Server) Audit(ctx context.Context, actor, action, target, detail string) error {
	_, err := s.db.sql.ExecContext(ctx, `INSERT INTO server_audit(at, actor, action, target, detail) VALUES (?,?,?,?,?)`, ts(time.Now()), actor, action, target, detail)
	return err
}

// AuditLog lists the newest entries first.
func (s *Server) AuditLog(ctx context.Context, limit int) ([]*AuditEntry, error) {
	if limit <= 0 {
		limit = 200
	}
	rows, err := s.db.sql.QueryContext(ctx, fmt.Sprintf(`SELECT id, at, actor, action, target, detail FROM server_audit ORDER BY id DESC LIMIT %d`, limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, err
		}
		e.At, _ = time.Parse(timeFmt, at)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// queryAll runs a query and reads every row with scan.
func queryAll[T any](ctx context.Context, db *sql.DB, scan func(interface{ Scan(...any) error }) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
