package store

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/shipgate/shipgate/internal/pgtest"
)

// The record types run on SQLite (one machine) and on PostgreSQL (a
// shared server); eachBackend runs a test on both, PostgreSQL being a real
// server started once for this test binary (internal/pgtest).
var (
	pgOnce   sync.Once
	pgServer *pgtest.Server
	pgErr    error
	pgDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pgServer != nil {
		pgServer.Stop()
	}
	if pgDir != "" {
		os.RemoveAll(pgDir)
	}
	os.Exit(code)
}

func sharedPostgres(t *testing.T) *pgtest.Server {
	pgOnce.Do(func() {
		pgDir, pgErr = os.MkdirTemp("", "shipgate-store-pg-")
		if pgErr == nil {
			pgServer, pgErr = pgtest.Start(filepath.Join(pgDir, "pg"))
		}
	})
	if pgErr != nil {
		t.Fatal(pgErr)
	}
	return pgServer
}

// openPostgres returns a fresh, migrated PostgreSQL store for t.
func openPostgres(t *testing.T) *DB {
	ctx := context.Background()
	url, err := sharedPostgres(t).CreateDB(ctx, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	db, err := OpenURL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func eachBackend(t *testing.T, test func(t *testing.T, db *DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := OpenURL(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "shipgate.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		test(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, openPostgres(t))
	})
}
