package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/shipgate/shipgate/internal/pgtest"
	"github.com/shipgate/shipgate/internal/store"
)

// The whole server test suite runs twice: on SQLite in the test process,
// then on PostgreSQL (a real server, internal/pgtest) in a second run of
// the same binary with SHIPGATE_TEST_BACKEND=postgres. Setting the variable
// by hand runs one backend only.
const backendEnv = "SHIPGATE_TEST_BACKEND"

var (
	backend  = os.Getenv(backendEnv)
	pg       *pgtest.Server
	storesMu sync.Mutex
	stores   = map[string]string{} // test root -> store URL
)

// runBackends runs the tests on each backend and returns the exit code.
func runBackends(m *testing.M) int {
	switch backend {
	case "":
		code := m.Run()
		if secondPassUseless() {
			return code
		}
		fmt.Println("=== the same tests on PostgreSQL (" + backendEnv + "=postgres)")
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), backendEnv+"=postgres")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil && code == 0 {
			code = 1
		}
		return code
	case "sqlite":
		return m.Run()
	case "postgres":
		dir, err := os.MkdirTemp("", "shipgate-server-pg-")
		if err == nil {
			pg, err = pgtest.Start(filepath.Join(dir, "pg"))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "postgres backend:", err)
			return 1
		}
		code := m.Run()
		pg.Stop()
		os.RemoveAll(dir)
		return code
	default:
		fmt.Fprintf(os.Stderr, "%s=%q: want sqlite or postgres\n", backendEnv, backend)
		return 2
	}
}

// secondPassUseless: fuzzing and listing run once.
func secondPassUseless() bool {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.fuzz") || strings.HasPrefix(a, "-test.list") || a == "-test.run=^$" {
			return true
		}
	}
	return false
}

// storeURL is the --db URL of the store of the test rooted at root: a
// SQLite file under root/state, or a fresh PostgreSQL database (the same
// one on every call with the same root).
func storeURL(t *testing.T, root string) string {
	t.Helper()
	storesMu.Lock()
	defer storesMu.Unlock()
	if u, ok := stores[root]; ok {
		return u
	}
	u := "sqlite:" + filepath.Join(root, "state", "shipgate.db")
	if backend == "postgres" {
		var err error
		if u, err = pg.CreateDB(context.Background(), t.Name()); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(filepath.Join(root, "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	stores[root] = u
	return u
}

// stateDir is where the test's server keeps artifacts and log journals.
func stateDir(root string) string { return filepath.Join(root, "state") }

// openStore opens the test's store (see storeURL).
func openStore(t *testing.T, root string) *store.DB {
	t.Helper()
	db, err := store.OpenURL(context.Background(), storeURL(t, root))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestBackendIsTheOneAsked(t *testing.T) {
	db := openStore(t, t.TempDir())
	defer db.Close()
	if want := backend == "postgres"; db.Postgres() != want {
		t.Fatalf("%s=%q but the store is postgres=%v", backendEnv, backend, db.Postgres())
	}
}
