package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Tx is a transaction over the state buckets. It is valid only inside the
// function given to Update or View.
//
// Values passed out of a Tx are copies: bbolt's own slices point into the
// memory map and become invalid when the transaction ends.
type Tx struct {
	tx *bolt.Tx
	db *DB
}

// Update runs fn in one read-write transaction: every Put and Delete in it
// commits together or not at all.
func (db *DB) Update(fn func(tx *Tx) error) (err error) {
	defer db.recoverDamage(&err)
	return db.bolt.Update(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx, db: db}) })
}

// Batch runs fn in a transaction shared with other concurrent writers
// (group commit) and returns once its writes are durable: use it for writes
// made by many goroutines at once, where Update would pay one fsync each.
// fn may run more than once (after a shared transaction fails, each writer
// is retried alone), so it must act only through tx; calling other DB
// methods from fn deadlocks.
func (db *DB) Batch(fn func(tx *Tx) error) error {
	return db.writes.submit(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx, db: db}) })
}

// View runs fn in a read-only transaction with a consistent snapshot. Do not
// call Update from inside fn: bbolt may deadlock when it grows the file.
func (db *DB) View(fn func(tx *Tx) error) (err error) {
	defer db.recoverDamage(&err)
	return db.bolt.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx, db: db}) })
}

// recoverDamage turns a bbolt panic on a damaged page met after Open (bbolt
// asserts rather than returns errors) into a CorruptError naming the file,
// so the daemon reports it instead of dying with a stack trace. bbolt's
// managed transactions roll back on the way out, releasing their locks.
func (db *DB) recoverDamage(err *error) {
	if r := recover(); r != nil {
		*err = &CorruptError{Path: db.path, Reason: fmt.Sprintf("damaged page: %v", r)}
	}
}

// bucket returns a generic bucket. Token caches are refused: they must go
// through Load/SaveTokenCache so they are never written in clear.
func (t *Tx) bucket(name string) (*bolt.Bucket, error) {
	if name == BucketTokenCache {
		return nil, errors.New("bucket token_cache is encrypted: use LoadTokenCache/SaveTokenCache")
	}
	if name == BucketMeta {
		return nil, errors.New("bucket meta belongs to the store itself")
	}
	b := t.tx.Bucket([]byte(name))
	if b == nil {
		return nil, fmt.Errorf("unknown bucket %q", name)
	}
	return b, nil
}

// Put stores value under key. Values are expected to be JSON: 'db check'
// reports values in these buckets that are not.
func (t *Tx) Put(bucket, key string, value []byte) error {
	if key == "" {
		return fmt.Errorf("put in %s: empty key", bucket)
	}
	b, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), value)
}

// Get returns a copy of the value, or nil, nil when the key is absent.
func (t *Tx) Get(bucket, key string) ([]byte, error) {
	b, err := t.bucket(bucket)
	if err != nil {
		return nil, err
	}
	v := b.Get([]byte(key))
	if v == nil {
		return nil, nil
	}
	return bytes.Clone(v), nil
}

// Delete removes key; deleting an absent key is not an error.
func (t *Tx) Delete(bucket, key string) error {
	b, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	return b.Delete([]byte(key))
}

// ForEach calls fn for every key starting with prefix, in byte order
// ("" visits the whole bucket). An error from fn stops the walk and is
// returned.
func (t *Tx) ForEach(bucket, prefix string, fn func(key string, value []byte) error) error {
	b, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	p := []byte(prefix)
	c := b.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if v == nil {
			continue // nested bucket; none of ours have any
		}
		if err := fn(string(k), bytes.Clone(v)); err != nil {
			return err
		}
	}
	return nil
}

// PutJSON stores v encoded as JSON.
func (t *Tx) PutJSON(bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", bucket, key, err)
	}
	return t.Put(bucket, key, raw)
}

// GetJSON decodes the value at key into v and reports whether it existed.
func (t *Tx) GetJSON(bucket, key string, v any) (bool, error) {
	raw, err := t.Get(bucket, key)
	if err != nil || raw == nil {
		return false, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decode %s/%s: %w", bucket, key, err)
	}
	return true, nil
}

// Put stores value under key in its own transaction.
func (db *DB) Put(bucket, key string, value []byte) error {
	return db.Update(func(tx *Tx) error { return tx.Put(bucket, key, value) })
}

// Get returns a copy of the value, or nil, nil when the key is absent.
func (db *DB) Get(bucket, key string) (value []byte, err error) {
	err = db.View(func(tx *Tx) error {
		value, err = tx.Get(bucket, key)
		return err
	})
	return value, err
}

// Delete removes key in its own transaction.
func (db *DB) Delete(bucket, key string) error {
	return db.Update(func(tx *Tx) error { return tx.Delete(bucket, key) })
}

// ForEach walks the keys starting with prefix in one read transaction.
func (db *DB) ForEach(bucket, prefix string, fn func(key string, value []byte) error) error {
	return db.View(func(tx *Tx) error { return tx.ForEach(bucket, prefix, fn) })
}

// PutJSON stores v encoded as JSON in its own transaction.
func (db *DB) PutJSON(bucket, key string, v any) error {
	return db.Update(func(tx *Tx) error { return tx.PutJSON(bucket, key, v) })
}

// GetJSON decodes the value at key into v and reports whether it existed.
func (db *DB) GetJSON(bucket, key string, v any) (found bool, err error) {
	err = db.View(func(tx *Tx) error {
		found, err = tx.GetJSON(bucket, key, v)
		return err
	})
	return found, err
}
