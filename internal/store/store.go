// Package store keeps shipgate's records: runs, jobs, steps, logs, artifacts,
// gate history, baselines, quarantine, approvals and deployments.
//
// One embedded SQLite database (modernc.org/sqlite, pure Go, WAL mode) lives
// under the project's .shipgate/ folder. Each kind of record has its own
// small type over the shared *DB (runs.go, testhistory.go, ...), never one
// giant Store interface. Schema changes are the SQL files in migrations/,
// named <kind>_<nnn>.sql and applied once each, in name order, each in its
// own transaction.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultDir is where the store lives, relative to the project root.
const DefaultDir = ".shipgate"

// DB is an open store.
type DB struct {
	sql      *sql.DB
	path     string
	postgres bool
}

// Open opens (creating when needed) the store in dir, applying migrations.
// An unwritable dir is an error that names it.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: cannot create %s: %w", dir, err)
	}
	path := filepath.Join(dir, "shipgate.db")
	return OpenFile(ctx, path)
}

// OpenFile opens the store database at path.
func OpenFile(ctx context.Context, path string) (*DB, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &DB{sql: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

// SQL is the underlying database for the record types in this package.
func (s *DB) SQL() *sql.DB { return s.sql }

// Path is the database file.
func (s *DB) Path() string { return s.path }

// Close closes the database.
func (s *DB) Close() error { return s.sql.Close() }

func (s *DB) migrate(ctx context.Context) error {
	if s.postgres {
		// One replica migrates; the others wait here, then find it done.
		conn, err := s.sql.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, int64(migrationLockKey)); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, int64(migrationLockKey))
	}
	if _, err := s.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	for _, name := range names {
		if err := s.apply(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", filepath.Base(name), err)
		}
	}
	return nil
}

func (s *DB) apply(ctx context.Context, name string) error {
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	return s.Tx(ctx, func(tx *sql.Tx) error {
		var seen string
		err := tx.QueryRowContext(ctx, `SELECT name FROM schema_migrations WHERE name = ?`, filepath.Base(name)).Scan(&seen)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		text := string(body)
		if s.postgres {
			text = pgSchema(text)
		}
		if _, err := tx.ExecContext(ctx, text); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)`, filepath.Base(name), time.Now().UTC().Format(time.RFC3339))
		return err
	})
}

// Tx runs fn in a transaction, committing when it returns nil.
func (s *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
