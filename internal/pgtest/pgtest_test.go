package pgtest

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

func TestStartCreateStop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pg")
	s, err := Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	url, err := s.CreateDB(t.Context(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	var one int
	if err := db.QueryRow(`SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	db.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cluster dir left behind: %v", err)
	}
	if db, _ := sql.Open("pgx", url); db.Ping() == nil {
		t.Fatal("server still answers after Stop")
	}
}
