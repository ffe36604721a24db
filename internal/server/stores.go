package server

import (
	"context"
	"time"

	"github.com/shipgate/shipgate/internal/store"
)

// The server reaches its records through these small interfaces, one per
// kind; *store.Server implements them all, on SQLite and on PostgreSQL.
// Runs, jobs and logs stay *store.Runs, which the engine writes.

// UserStore holds accounts, hashed API tokens and sessions.
type UserStore interface {
	CreateUser(ctx context.Context, u *store.User) error
	UserByName(ctx context.Context, name string) (*store.User, error)
	Users(ctx context.Context) ([]*store.User, error)
	AddToken(ctx context.Context, userID int64, hash, name string) error
	UserByToken(ctx context.Context, hash string) (*store.User, error)
	CreateSession(ctx context.Context, hash string, userID int64, csrf string, expires time.Time) error
	Session(ctx context.Context, hash string) (*store.User, string, error)
	DeleteSession(ctx context.Context, hash string) error
}

// DeliveryStore keeps verified webhook deliveries until they become runs.
type DeliveryStore interface {
	AddDelivery(ctx context.Context, d *store.Delivery) error
	PendingDeliveries(ctx context.Context, limit int) ([]*store.Delivery, error)
	CompleteDelivery(ctx context.Context, id, status, message string, items []*store.QueueItem) error
}

// QueueStore is the run queue, shared by the replicas on one database:
// items are claimed under a lease, and every end is fenced by its owner.
type QueueStore interface {
	Enqueue(ctx context.Context, items []*store.QueueItem) error
	Item(ctx context.Context, id int64) (*store.QueueItem, error)
	Items(ctx context.Context, f store.ItemFilter) ([]*store.QueueItem, error)
	QueuedItems(ctx context.Context) ([]*store.QueueItem, error)
	RunningItems(ctx context.Context) ([]*store.QueueItem, error)
	ClaimItem(ctx context.Context, id int64, l store.Lease, repoLimit int) (store.ClaimResult, error)
	RenewLeases(ctx context.Context, owner string, until time.Time) (map[int64]bool, error)
	OrphanedItems(ctx context.Context, now time.Time, self string) ([]*store.Orphan, error)
	TakeOver(ctx context.Context, o *store.Orphan, l store.Lease) (bool, error)
	SetItemRun(ctx context.Context, id, runID int64) error
	FinishOwned(ctx context.Context, id int64, owner, status, message string) (bool, error)
	RequeueOwned(ctx context.Context, id int64, owner, message string) (bool, error)
	FinishQueued(ctx context.Context, id int64, status, message string) (bool, error)
	RequestCancel(ctx context.Context, id int64) error
	InterruptRun(ctx context.Context, runID int64) error
}

// ApprovalStore holds environment approval requests and decisions.
type ApprovalStore interface {
	RequestApproval(ctx context.Context, a *store.Approval) (*store.Approval, error)
	GetApproval(ctx context.Context, id int64) (*store.Approval, error)
	Approvals(ctx context.Context, queueID int64, status string) ([]*store.Approval, error)
	DecideApproval(ctx context.Context, id int64, status, by, comment string, checked []string) error
}

// AuditStore is the append-only audit log.
type AuditStore interface {
	Audit(ctx context.Context, actor, action, target, detail string) error
	AuditLog(ctx context.Context, limit int) ([]*store.AuditEntry, error)
}

// Records is every kind of server record.
type Records interface {
	UserStore
	DeliveryStore
	QueueStore
	ApprovalStore
	AuditStore
}

var _ Records = (*store.Server)(nil)
