package store

import (
	"bytes"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// testKey is a fixed key so tests can reopen files they wrote.
var testKey = bytes.Repeat([]byte{0x42}, KeySize)

// openTemp opens a fresh state file in a temporary directory.
func openTemp(t *testing.T, opts Options) *DB {
	t.Helper()
	if opts.Key == nil && opts.KeyFile == "" {
		opts.Key = testKey
	}
	db, err := Open(filepath.Join(t.TempDir(), "state.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// reopen closes db and opens its file again with opts.
func reopen(t *testing.T, db *DB, opts Options) *DB {
	t.Helper()
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if opts.Key == nil && opts.KeyFile == "" {
		opts.Key = testKey
	}
	db2, err := Open(path, opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { _ = db2.Close() })
	return db2
}

// boltTx lets tests reach the raw file layout.
type boltTx = bolt.Tx
