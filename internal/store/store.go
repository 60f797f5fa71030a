// Package store keeps the agent's state in one bbolt file: tenant state,
// probe history, encrypted token caches, policy snapshots, findings, the
// alert log, the notification outbox and silences, one bucket per concern.
//
// One process owns the file at a time (bbolt holds an exclusive flock for the
// life of the handle). The CLI therefore talks to the daemon for live data;
// the offline maintenance commands (backup, check, compact) open the file
// directly and say so clearly when the daemon holds it.
package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

// Bucket names, one per concern.
const (
	BucketTenants    = "tenants"
	BucketProbes     = "probes"
	BucketTokenCache = "token_cache"
	BucketPolicies   = "policy_snapshots"
	BucketFindings   = "findings"
	BucketAlertLog   = "alert_log"
	BucketOutbox     = "outbox"
	BucketSilences   = "silences"
	BucketMeta       = "meta"
)

// allBuckets is created at every Open so a bucket added by a newer release
// appears without a migration of its own.
var allBuckets = []string{
	BucketTenants, BucketProbes, BucketTokenCache, BucketPolicies, BucketFindings,
	BucketAlertLog, BucketOutbox, BucketSilences, BucketMeta,
}

// DefaultTimeout is how long Open waits for another process to release the
// file lock before giving up.
const DefaultTimeout = time.Second

// Options configure Open. The zero value is usable only together with a key
// source: Key, KeyFile or a systemd credential.
type Options struct {
	// Timeout bounds the wait for the file lock; default 1s. bbolt's own
	// default (0) would wait forever, which would hang a CLI command behind
	// the daemon.
	Timeout time.Duration
	// Key is the 32-byte AES-256 key for token caches. If nil, KeyFile is used.
	Key []byte
	// KeyFile holds the key (32 raw bytes or 64 hex characters). It is created
	// with mode 0600 and a random key if absent, and refused (as any secret
	// file, secret.CheckFileMode) if group or others can read or write it
	// or another unprivileged user owns it. If empty, $CREDENTIALS_DIRECTORY/state-key is used.
	KeyFile   string
	Retention Retention
	// Clock dates probe retention; default clock.Real{}.
	Clock  clock.Clock
	Logger *slog.Logger
}

// ErrLocked reports that another process (or another handle in this
// process) holds the state file. Errors from Open wrap it.
var ErrLocked = errors.New("state file is locked by another process")

// ErrClosed is returned by operations on a closed DB.
var ErrClosed = errors.New("state store is closed")

// LockedError names the file whose lock could not be taken.
type LockedError struct {
	Path    string
	Timeout time.Duration
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("another tokenhealth process holds %s (its lock was not released within %s)", e.Path, e.Timeout)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// DB is an open state file. It is safe for concurrent use.
type DB struct {
	bolt      *bolt.DB
	path      string
	aead      *sealer
	retention Retention
	clock     clock.Clock
	log       *slog.Logger
	writes    *groupCommitter // group commit for probes, token caches and Batch

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the state file at path, takes its lock,
// reads every page in use to refuse a damaged file (verify.go), runs schema
// migrations and verifies the token-cache key.
func Open(path string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	if path == "" {
		return nil, errors.New("state file path is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("state file %q: %w", path, err)
	}
	if err := preflight(abs); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("state directory for %s: %w", abs, err)
	}
	bdb, err := openBolt(abs, opts.Timeout)
	if err != nil {
		return nil, err
	}
	if err := verifyPages(bdb, abs, opts.Logger); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	db := &DB{bolt: bdb, path: abs, retention: opts.Retention, clock: opts.Clock, log: opts.Logger}
	if err := db.prepareSafely(opts); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	warnIfExposed(db)
	db.writes = newGroupCommitter(db)
	return db, nil
}

// openBolt opens the file and turns bbolt's terse errors into ones that
// name the file and say what to do.
func openBolt(path string, timeout time.Duration) (bdb *bolt.DB, err error) {
	// preflight reads the pages bolt.Open parses; should it still assert on
	// one, the error keeps the advice (the lock stays with this process
	// until it exits, as bbolt gives no handle to close).
	defer func() {
		if r := recover(); r != nil {
			bdb, err = nil, &CorruptError{Path: path, Reason: fmt.Sprintf("damaged page: %v", r)}
		}
	}()
	bdb, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	switch {
	case err == nil:
		return bdb, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, &LockedError{Path: path, Timeout: timeout}
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return nil, &CorruptError{Path: path, Reason: err.Error()}
	default:
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
}

// prepareSafely turns a bbolt panic on a damaged page (bbolt asserts rather
// than returns errors when a page is not what it expects) into a
// CorruptError, so the daemon exits with advice instead of a stack trace.
func (db *DB) prepareSafely(opts Options) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &CorruptError{Path: db.path, Reason: fmt.Sprintf("damaged page: %v", r)}
		}
	}()
	return db.prepare(migrations, opts)
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Retention = o.Retention.withDefaults()
	return o
}

// Path returns the absolute path of the state file.
func (db *DB) Path() string { return db.path }

// Close commits queued writes and releases the file lock.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if db.writes != nil {
			db.writes.close()
		}
		db.closeErr = db.bolt.Close()
	})
	return db.closeErr
}
