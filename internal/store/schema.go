package store

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Meta keys.
const (
	metaSchemaVersion = "schema_version"
	// metaKeyCheck holds a known plaintext sealed with the state key, so a
	// wrong key is detected at Open, before anything is sealed with it.
	metaKeyCheck = "key_check"
)

var keyCheckPlaintext = []byte("tokenhealth state key check v1")

// migration moves the file from version-1 to version. It runs inside the
// single Open transaction together with every other pending migration, so a
// failure leaves the file exactly as it was.
type migration struct {
	version     int
	description string
	apply       func(tx *bolt.Tx) error
}

// migrations is the schema history, in order. Append; never edit a released
// step. Buckets themselves are created at every Open (allBuckets), so a step
// is needed only when existing records change shape.
var migrations = []migration{
	{version: 1, description: "initial layout: one bucket per concern", apply: func(*bolt.Tx) error { return nil }},
}

// SchemaVersion is the newest schema this build understands.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// SchemaError reports a file written by a newer tokenhealth.
type SchemaError struct {
	Path       string
	FileSchema int
	Supported  int
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("%s has schema version %d but this tokenhealth understands up to %d; upgrade tokenhealth or restore a backup",
		e.Path, e.FileSchema, e.Supported)
}

// fileState is what Open learns from a read-only look at the file before
// deciding whether anything must be written.
type fileState struct {
	schema         int
	keyCheck       []byte // nil when the file was never sealed
	missingBuckets bool
}

func (db *DB) inspect() (fileState, error) {
	var st fileState
	err := db.bolt.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket([]byte(name)) == nil {
				st.missingBuckets = true
			}
		}
		meta := tx.Bucket([]byte(BucketMeta))
		if meta == nil {
			return nil
		}
		v, err := readSchemaVersion(meta)
		if err != nil {
			return &CorruptError{Path: db.path, Reason: err.Error()}
		}
		st.schema = v
		if kc := meta.Get([]byte(metaKeyCheck)); kc != nil {
			st.keyCheck = bytes.Clone(kc)
		}
		return nil
	})
	return st, err
}

// prepare refuses files from the future and wrong keys without writing,
// then, only if needed, creates missing buckets, runs pending migrations and
// seals the key check, all in one transaction: a failure leaves the file as
// it was.
func (db *DB) prepare(steps []migration, opts Options) error {
	latest := steps[len(steps)-1].version
	st, err := db.inspect()
	if err != nil {
		return err
	}
	if st.schema > latest {
		return &SchemaError{Path: db.path, FileSchema: st.schema, Supported: latest}
	}
	key, err := resolveKey(opts, db.path, st.keyCheck != nil, db.log)
	if err != nil {
		return err
	}
	if db.aead, err = newSealer(key); err != nil {
		return err
	}
	if st.keyCheck != nil {
		plain, err := db.aead.open(st.keyCheck, []byte(metaKeyCheck))
		if errors.Is(err, errNoMatch) || (err == nil && !bytes.Equal(plain, keyCheckPlaintext)) {
			return &KeyMismatchError{Path: db.path}
		}
		if err != nil {
			return &CorruptError{Path: db.path, Reason: "meta/" + metaKeyCheck + ": " + err.Error()}
		}
	}
	if st.schema == latest && st.keyCheck != nil && !st.missingBuckets {
		return nil
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("create bucket %s in %s: %w", name, db.path, err)
			}
		}
		meta := tx.Bucket([]byte(BucketMeta))
		for _, step := range steps {
			if step.version <= st.schema {
				continue
			}
			if err := step.apply(tx); err != nil {
				return fmt.Errorf("migrate %s to schema version %d (%s): %w", db.path, step.version, step.description, err)
			}
			db.log.Info("migrated state file", "path", db.path, "schema_version", step.version, "step", step.description)
		}
		if err := meta.Put([]byte(metaSchemaVersion), []byte(strconv.Itoa(latest))); err != nil {
			return err
		}
		if st.keyCheck != nil {
			return nil
		}
		sealed, err := db.aead.seal(keyCheckPlaintext, []byte(metaKeyCheck))
		if err != nil {
			return err
		}
		return meta.Put([]byte(metaKeyCheck), sealed)
	})
}

// readSchemaVersion returns 0 for a new file.
func readSchemaVersion(meta *bolt.Bucket) (int, error) {
	raw := meta.Get([]byte(metaSchemaVersion))
	if raw == nil {
		return 0, nil
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("meta/%s is %q, not a version number", metaSchemaVersion, raw)
	}
	return v, nil
}

// KeyMismatchError reports a key that cannot open the state file's values.
type KeyMismatchError struct {
	Path   string
	Tenant string // empty when detected by the key check at Open
}

func (e *KeyMismatchError) Error() string {
	if e.Tenant != "" {
		return fmt.Sprintf("token cache of tenant %s cannot be decrypted: the state key does not match the state file %s", e.Tenant, e.Path)
	}
	return fmt.Sprintf("the state key does not match the state file %s: use the key file that was in use when the file was written, "+
		"or move the state file aside to start fresh", e.Path)
}
