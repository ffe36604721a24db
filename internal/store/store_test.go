package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenMigratesOnceAndReopens(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(dir, ".shipgate"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`INSERT INTO meta(key, value) VALUES ('k', 'v')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, filepath.Join(dir, ".shipgate"))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	var v string
	if err := db.SQL().QueryRow(`SELECT value FROM meta WHERE key = 'k'`).Scan(&v); err != nil || v != "v" {
		t.Fatalf("value after reopen = %q, %v", v, err)
	}
}

func TestOpenUnwritableDirSaysWhere(t *testing.T) {
	// root writes anywhere, so make the path unwritable by putting it under a
	// regular file.
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	_, err := Open(context.Background(), filepath.Join(file, ".shipgate"))
	if err == nil {
		t.Fatal("expected an error for a store under a regular file")
	}
}
