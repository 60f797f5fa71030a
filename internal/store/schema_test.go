package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// craftFile writes a bbolt file by hand, as some other tokenhealth release
// would have left it.
func craftFile(t *testing.T, fill func(tx *bolt.Tx) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(fill); err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func setSchema(v int) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(BucketMeta))
		if err != nil {
			return err
		}
		return b.Put([]byte(metaSchemaVersion), []byte(strconv.Itoa(v)))
	}
}

func TestNewFileRecordsCurrentSchema(t *testing.T) {
	db := openTemp(t, Options{})
	var v int
	err := db.bolt.View(func(tx *bolt.Tx) (err error) {
		v, err = readSchemaVersion(tx.Bucket([]byte(BucketMeta)))
		for _, name := range allBuckets {
			if tx.Bucket([]byte(name)) == nil {
				return fmt.Errorf("bucket %s missing", name)
			}
		}
		return err
	})
	if err != nil || v != SchemaVersion() {
		t.Fatalf("schema version %d, %v; want %d", v, err, SchemaVersion())
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := craftFile(t, setSchema(SchemaVersion()+7))
	keyFile := filepath.Join(t.TempDir(), "state.key")
	_, err := Open(path, Options{KeyFile: keyFile})
	var se *SchemaError
	if !errors.As(err, &se) {
		t.Fatalf("Open error = %v; want SchemaError", err)
	}
	want := fmt.Sprintf("%s has schema version %d but this tokenhealth understands up to %d; upgrade tokenhealth or restore a backup",
		path, SchemaVersion()+7, SchemaVersion())
	if err.Error() != want {
		t.Fatalf("error = %q\nwant    %q", err, want)
	}
	if _, statErr := os.Stat(keyFile); !errors.Is(statErr, os.ErrNotExist) {
		t.Error("a key file was created for a refused state file")
	}
	// Refusal must not have touched the file (no key check written).
	bdb, _ := bolt.Open(path, 0o600, nil)
	defer bdb.Close()
	_ = bdb.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(BucketMeta)).Get([]byte(metaKeyCheck)) != nil {
			t.Error("a refused file was given a key check")
		}
		return nil
	})
}

func TestSchemaVersionGarbageIsCorruption(t *testing.T) {
	path := craftFile(t, func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucketIfNotExists([]byte(BucketMeta))
		return b.Put([]byte(metaSchemaVersion), []byte("two"))
	})
	_, err := Open(path, Options{Key: testKey})
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Reason != `meta/schema_version is "two", not a version number` {
		t.Fatalf("Open error = %v", err)
	}
}

// withMigrations swaps the schema history for one test.
func withMigrations(t *testing.T, steps []migration) {
	t.Helper()
	saved := migrations
	migrations = steps
	t.Cleanup(func() { migrations = saved })
}

// An old file migrates forward, step by step, in one transaction.
func TestOldSchemaMigratesForward(t *testing.T) {
	// Version 1 stored tenants as bare display names; version 2 wraps them
	// in JSON; version 3 adds a marker. Both steps must run, in order.
	path := craftFile(t, func(tx *bolt.Tx) error {
		if err := setSchema(1)(tx); err != nil {
			return err
		}
		b, _ := tx.CreateBucketIfNotExists([]byte(BucketTenants))
		return b.Put([]byte("t1"), []byte("Contoso"))
	})
	var ran []int
	withMigrations(t, []migration{
		{version: 1, description: "initial", apply: func(*bolt.Tx) error { ran = append(ran, 1); return nil }},
		{version: 2, description: "tenants as JSON", apply: func(tx *bolt.Tx) error {
			ran = append(ran, 2)
			b := tx.Bucket([]byte(BucketTenants))
			name := b.Get([]byte("t1"))
			return b.Put([]byte("t1"), []byte(strconv.Quote(string(name))))
		}},
		{version: 3, description: "marker", apply: func(tx *bolt.Tx) error {
			ran = append(ran, 3)
			if string(tx.Bucket([]byte(BucketTenants)).Get([]byte("t1"))) != `"Contoso"` {
				return errors.New("step 3 ran before step 2")
			}
			return tx.Bucket([]byte(BucketMeta)).Put([]byte("migrated"), []byte("yes"))
		}},
	})
	db, err := Open(path, Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if fmt.Sprint(ran) != "[2 3]" {
		t.Fatalf("ran steps %v; want [2 3]", ran)
	}
	var name string
	if found, err := db.GetJSON(BucketTenants, "t1", &name); !found || err != nil || name != "Contoso" {
		t.Fatalf("migrated tenant = %q, %v, %v", name, found, err)
	}
	db = reopen(t, db, Options{})
	if fmt.Sprint(ran) != "[2 3]" {
		t.Fatalf("steps ran again on reopen: %v", ran)
	}
}

// A failing step leaves the file at its old version with its old data.
func TestFailedMigrationChangesNothing(t *testing.T) {
	path := craftFile(t, func(tx *bolt.Tx) error {
		if err := setSchema(1)(tx); err != nil {
			return err
		}
		b, _ := tx.CreateBucketIfNotExists([]byte(BucketTenants))
		return b.Put([]byte("t1"), []byte("old"))
	})
	withMigrations(t, []migration{
		{version: 1, description: "initial", apply: func(*bolt.Tx) error { return nil }},
		{version: 2, description: "rewrite", apply: func(tx *bolt.Tx) error {
			return tx.Bucket([]byte(BucketTenants)).Put([]byte("t1"), []byte("new"))
		}},
		{version: 3, description: "fails", apply: func(*bolt.Tx) error { return errors.New("disk says no") }},
	})
	_, err := Open(path, Options{Key: testKey})
	want := "migrate " + path + " to schema version 3 (fails): disk says no"
	if err == nil || err.Error() != want {
		t.Fatalf("Open error = %v\nwant %q", err, want)
	}
	bdb, _ := bolt.Open(path, 0o600, nil)
	defer bdb.Close()
	_ = bdb.View(func(tx *bolt.Tx) error {
		v, _ := readSchemaVersion(tx.Bucket([]byte(BucketMeta)))
		if got := string(tx.Bucket([]byte(BucketTenants)).Get([]byte("t1"))); v != 1 || got != "old" {
			t.Errorf("after failed migration: version %d, t1=%q; want 1, old", v, got)
		}
		return nil
	})
}
