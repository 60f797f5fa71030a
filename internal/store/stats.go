package store

import (
	"bytes"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Stats describes the state file for 'db check', status output and metrics.
type Stats struct {
	Path          string         `json:"path"`
	SizeBytes     int64          `json:"size_bytes"`
	SchemaVersion int            `json:"schema_version"`
	Keys          map[string]int `json:"keys"` // per bucket
}

// Stats counts the keys in every bucket and reads the file size.
func (db *DB) Stats() (_ Stats, err error) {
	defer db.recoverDamage(&err)
	st := Stats{Path: db.path, Keys: map[string]int{}}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		st.SizeBytes = tx.Size()
		v, err := readSchemaVersion(tx.Bucket([]byte(BucketMeta)))
		if err != nil {
			return err
		}
		st.SchemaVersion = v
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			st.Keys[string(name)] = b.Stats().KeyN
			return nil
		})
	})
	return st, err
}

// DeleteProbeHistory removes every recorded attempt of tenantID (a tenant
// removed from the configuration) and returns how many there were.
func (db *DB) DeleteProbeHistory(tenantID string) (removed int, err error) {
	defer db.recoverDamage(&err)
	if err := validTenantID(tenantID); err != nil {
		return 0, err
	}
	prefix := []byte(tenantID + "/")
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(BucketProbes)).Cursor()
		// Cursor.Delete keeps the cursor valid, unlike Bucket.Delete.
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	return removed, err
}

// warnIfExposed logs when the state file can be read by group or others:
// token caches are encrypted, but probe history names accounts and errors.
func warnIfExposed(db *DB) {
	info, err := os.Stat(db.path)
	if err != nil || info.Mode().Perm()&0o077 == 0 {
		return
	}
	db.log.Warn("state file is readable by group or others",
		"path", db.path, "mode", fmt.Sprintf("%04o", info.Mode().Perm()), "fix", "chmod 600 "+db.path)
}
