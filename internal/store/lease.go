package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Leases: how several server replicas share one queue. A replica claims
// a queued item in a transaction that (on PostgreSQL) holds a lock per
// repository and locks the item's row with FOR UPDATE SKIP LOCKED, so two
// replicas never start the same item nor exceed a repository's limit or a
// concurrency group; SQLite's write transactions are serial already. The
// owner renews its lease while the item runs; every write that ends the
// item is fenced by the owner, so a replica that lost its lease (it was
// paused or cut off, and another took the item over) cannot record an end.

// Lease names a replica and how long its claims last.
type Lease struct {
	Owner string // the replica's unique name
	Host  string // the machine it runs on: processes are reaped only there
	Until time.Time
}

// ClaimResult says why ClaimItem did or did not start an item.
type ClaimResult int

// Claim results.
const (
	Claimed   ClaimResult = iota
	NotQueued             // another replica claimed, cancelled or finished it
	RepoFull              // its repository runs its limit already
	GroupBusy             // its concurrency group runs another item
)

// ClaimItem starts a queued item for l (status running, one more attempt),
// unless it is no longer queued, its repository already runs repoLimit
// items or its concurrency group runs one.
func (s *Server) ClaimItem(ctx context.Context, id int64, l Lease, repoLimit int) (ClaimResult, error) {
	res := NotQueued
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var repo, group string
		q := `SELECT repo, cgroup FROM server_queue WHERE id = ? AND status = ?`
		if s.db.postgres {
			// Serialise claims per repository: the counts below must not
			// change between reading them and the update.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext((SELECT repo FROM server_queue WHERE id = ?)))`, id); err != nil {
				return err
			}
			q += ` FOR UPDATE SKIP LOCKED`
		}
		err := tx.QueryRowContext(ctx, q, id, StatusQueued).Scan(&repo, &group)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM server_queue WHERE repo = ? AND status = ?`, repo, StatusRunning).Scan(&n); err != nil {
			return err
		}
		if repoLimit > 0 && n >= repoLimit {
			res = RepoFull
			return nil
		}
		if group != "" {
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM server_queue WHERE cgroup = ? AND status = ?`, group, StatusRunning).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				res = GroupBusy
				return nil
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE server_queue SET status = ?, owner = ?, owner_host = ?, lease_until = ?, cancel_requested = 0,
			attempts = attempts + 1, started_at = ?, finished_at = NULL WHERE id = ?`,
			StatusRunning, l.Owner, l.Host, l.Until.UnixMilli(), ts(time.Now()), id)
		if err == nil {
			res = Claimed
		}
		return err
	})
	return res, err
}

// RenewLeases extends the leases of owner's running items and returns
// them, with the ones someone asked to cancel.
func (s *Server) RenewLeases(ctx context.Context, owner string, until time.Time) (owned map[int64]bool, err error) {
	if _, err := s.db.sql.ExecContext(ctx, `UPDATE server_queue SET lease_until = ? WHERE owner = ? AND status = ?`, until.UnixMilli(), owner, StatusRunning); err != nil {
		return nil, err
	}
	rows, err := s.db.sql.QueryContext(ctx, `SELECT id, cancel_requested FROM server_queue WHERE owner = ? AND status = ?`, owner, StatusRunning)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	owned = map[int64]bool{}
	for rows.Next() {
		var id int64
		var cancel int
		if err := rows.Scan(&id, &cancel); err != nil {
			return nil, err
		}
		owned[id] = cancel != 0
	}
	return owned, rows.Err()
}

// Orphan is a running item whose replica is gone.
type Orphan struct {
	*QueueItem
	Owner, Host string
	LeaseUntil  int64
}

// OrphanedItems lists running items whose lease ran out by now, and (at a
// replica's start) those still leased to self: a replica that restarts
// under the same name knows it runs nothing yet.
func (s *Server) OrphanedItems(ctx context.Context, now time.Time, self string) ([]*Orphan, error) {
	rows, err := s.db.sql.QueryContext(ctx, `SELECT `+queueCols+`, owner, owner_host, lease_until FROM server_queue
		WHERE status = ? AND (lease_until < ? OR owner = ?) ORDER BY id`, StatusRunning, now.UnixMilli(), self)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Orphan
	for rows.Next() {
		o := &Orphan{}
		it, err := scanItem(rows, &o.Owner, &o.Host, &o.LeaseUntil)
		if err != nil {
			return nil, err
		}
		o.QueueItem = it
		out = append(out, o)
	}
	return out, rows.Err()
}

// TakeOver moves an orphaned item to l, fenced on the lease it had: of
// replicas racing for it, one wins (true).
func (s *Server) TakeOver(ctx context.Context, o *Orphan, l Lease) (bool, error) {
	res, err := s.db.sql.ExecContext(ctx, `UPDATE server_queue SET owner = ?, owner_host = ?, lease_until = ? WHERE id = ? AND status = ? AND owner = ? AND lease_until = ?`,
		l.Owner, l.Host, l.Until.UnixMilli(), o.ID, StatusRunning, o.Owner, o.LeaseUntil)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FinishOwned records how owner's running item ended; false when owner
// no longer holds it (its lease ran out and another replica took it).
func (s *Server) FinishOwned(ctx context.Context, id int64, owner, status, message string) (bool, error) {
	res, err := s.db.sql.ExecContext(ctx, `UPDATE server_queue SET status = ?, message = ?, finished_at = ?, lease_until = 0 WHERE id = ? AND owner = ? AND status = ?`,
		status, message, ts(time.Now()), id, owner, StatusRunning)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RequeueOwned puts owner's running item back in the queue (a resumed
// attempt); false when owner no longer holds it.
func (s *Server) RequeueOwned(ctx context.Context, id int64, owner, message string) (bool, error) {
	res, err := s.db.sql.ExecContext(ctx, `UPDATE server_queue SET status = ?, message = ?, owner = '', owner_host = '', lease_until = 0 WHERE id = ? AND owner = ? AND status = ?`,
		StatusQueued, message, id, owner, StatusRunning)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FinishQueued ends an item that has not started (cancelled, superseded);
// false when it is no longer queued (a replica claimed it meanwhile).
func (s *Server) FinishQueued(ctx context.Context, id int64, status, message string) (bool, error) {
	res, err := s.db.sql.ExecContext(ctx, `UPDATE server_queue SET status = ?, message = ?, finished_at = ? WHERE id = ? AND status = ?`,
		status, message, ts(time.Now()), id, StatusQueued)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RequestCancel asks the replica running an item to cancel it.
func (s *Server) RequestCancel(ctx context.Context, id int64) error {
	_, err := s.db.sql.ExecContext(ctx, `UPDATE server_queue SET cancel_requested = 1 WHERE id = ? AND status = ?`, id, StatusRunning)
	return err
}

// RunningItems lists the items running on any replica.
func (s *Server) RunningItems(ctx context.Context) ([]*QueueItem, error) {
	return s.Items(ctx, ItemFilter{Status: StatusRunning, Limit: 1 << 30})
}
