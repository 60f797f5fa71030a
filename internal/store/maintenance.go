package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the live file to path. It runs inside a
// read transaction, so probes keep writing meanwhile. The copy goes to a
// temporary file in the destination directory, is synced, and is renamed
// into place: path holds either the old content or a complete backup.
func (db *DB) Backup(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("backup path %q: %w", path, err)
	}
	if abs == db.path {
		return fmt.Errorf("backup path %s is the state file itself", abs)
	}
	if info, err := os.Stat(abs); err == nil {
		if live, lerr := os.Stat(db.path); lerr == nil && os.SameFile(info, live) {
			return fmt.Errorf("backup path %s is the state file itself", abs)
		}
	}
	dir := filepath.Dir(abs)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup to %s: %w", abs, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	// CreateTemp already uses 0600; Chmod states the intent and survives a
	// different umask policy.
	err = tmp.Chmod(0o600)
	if err == nil {
		err = db.bolt.View(func(tx *bolt.Tx) error {
			_, werr := tx.WriteTo(tmp)
			return werr
		})
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup to %s: %w", abs, err)
	}
	if err := os.Rename(tmp.Name(), abs); err != nil {
		return fmt.Errorf("backup to %s: %w", abs, err)
	}
	return syncDir(dir)
}

// Check returns every integrity problem found: bbolt's own page checks
// (each damaged page with its bucket, see pageProblems), then ours: token caches that do not decrypt, probe records and JSON values that
// do not decode, keys in the wrong shape. Each problem names bucket and key.
// The error is for failing to run the check at all.
func (db *DB) Check() (_ []string, err error) {
	defer db.recoverDamage(&err)
	// bbolt's page check reads the freelist, which concurrent writers
	// change; a writable transaction (rolled back, never committed) keeps
	// writers out for the duration instead of racing them.
	tx, err := db.bolt.Begin(true)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", db.path, err)
	}
	defer func() { _ = tx.Rollback() }()
	problems, leaks := pageProblems(tx)
	problems = append(problems, leaks...)
	if len(problems) > 0 {
		return problems, nil // walking damaged pages could crash; report what bbolt found
	}
	err = tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		problems = append(problems, db.checkBucket(string(name), b)...)
		return nil
	})
	return problems, err
}

func (db *DB) checkBucket(name string, b *bolt.Bucket) []string {
	var problems []string
	report := func(k []byte, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s/%s: ", name, describeKey(name, k))+fmt.Sprintf(format, args...))
	}
	_ = b.ForEach(func(k, v []byte) error {
		if v == nil {
			report(k, "unexpected nested bucket")
			return nil
		}
		switch name {
		case BucketMeta:
			if string(k) == metaSchemaVersion {
				if _, err := strconv.Atoi(string(v)); err != nil {
					report(k, "schema version %q is not a number", v)
				}
			}
		case BucketTokenCache:
			if _, err := db.openTokenCache(string(k), v); err != nil {
				report(k, "%v", err)
			}
		case BucketProbes:
			if _, _, ok := splitProbeKey(k); !ok {
				report(k, "key is not tenant/time")
			}
			var a ProbeAttempt
			if err := json.Unmarshal(v, &a); err != nil {
				report(k, "probe record does not decode: %v", err)
			}
		default:
			if !json.Valid(v) {
				report(k, "value is not valid JSON (%d bytes)", len(v))
			}
		}
		return nil
	})
	return problems
}

// describeKey renders a key for messages: probe keys carry a binary time.
func describeKey(bucket string, k []byte) string {
	if bucket == BucketProbes {
		if tenant, at, ok := splitProbeKey(k); ok {
			return tenant + "/" + at.Format(time.RFC3339Nano)
		}
	}
	q := strconv.Quote(string(k))
	return q[1 : len(q)-1]
}

// Compact rewrites the state file without its free pages. It is offline:
// the daemon must not hold the file (Open reports the lock otherwise). The
// compacted copy is written next to the file, synced, and renamed over it,
// so a crash leaves either the old or the new file.
func Compact(path string, opts Options) error {
	src, err := Open(path, opts)
	if err != nil {
		return err
	}
	defer src.Close()
	tmpPath := src.path + ".compact-tmp"
	if err := os.Remove(tmpPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", tmpPath, err)
	}
	dst, err := bolt.Open(tmpPath, 0o600, &bolt.Options{Timeout: opts.withDefaults().Timeout})
	if err != nil {
		return fmt.Errorf("compact %s: create %s: %w", src.path, tmpPath, err)
	}
	// 64 MiB per transaction bounds memory on large files. Open verified
	// every page just now; damage appearing meanwhile still is no crash.
	if r := catchPanic(func() { err = bolt.Compact(dst, src.bolt, 64<<20) }); r != nil {
		err = &CorruptError{Path: src.path, Reason: fmt.Sprintf("damaged page: %v", r)}
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmpPath)
		return fmt.Errorf("compact %s: %w", src.path, err)
	}
	if err := os.Rename(tmpPath, src.path); err != nil {
		_ = os.Remove(tmpPath)
		return fmt.Errorf("compact %s: %w", src.path, err)
	}
	return syncDir(filepath.Dir(src.path))
}
