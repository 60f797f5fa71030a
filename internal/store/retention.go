package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention bounds probe history per tenant. Failures are kept longer and in
// greater number than successes: a success says little once a newer one
// exists, while a failure is what someone investigates days later.
type Retention struct {
	MaxSuccesses  int
	MaxSuccessAge time.Duration
	MaxFailures   int
	MaxFailureAge time.Duration
}

// DefaultRetention is applied field by field to a zero Retention.
var DefaultRetention = Retention{
	MaxSuccesses:  200,
	MaxSuccessAge: 14 * 24 * time.Hour,
	MaxFailures:   1000,
	MaxFailureAge: 90 * 24 * time.Hour,
}

func (r Retention) withDefaults() Retention {
	if r.MaxSuccesses <= 0 {
		r.MaxSuccesses = DefaultRetention.MaxSuccesses
	}
	if r.MaxSuccessAge <= 0 {
		r.MaxSuccessAge = DefaultRetention.MaxSuccessAge
	}
	if r.MaxFailures <= 0 {
		r.MaxFailures = DefaultRetention.MaxFailures
	}
	if r.MaxFailureAge <= 0 {
		r.MaxFailureAge = DefaultRetention.MaxFailureAge
	}
	return r
}

// retentionChunk bounds the deletes in one write transaction (a variable so
// a test can make several chunks out of a few records).
var retentionChunk = 5000

// ApplyRetention deletes probe records beyond the per-tenant limits, dated
// by the store's clock, and returns how many it removed.
//
// The scan runs in a read transaction and the deletes in short write
// transactions, so probes keep committing during a large purge. That is
// safe because a record judged expired stays expired: records appended
// meanwhile are newer and only push older ones further past the limits.
func (db *DB) ApplyRetention() (removed int, err error) {
	defer db.recoverDamage(&err)
	now := db.clock.Now()
	var doomed [][]byte
	err = db.bolt.View(func(tx *bolt.Tx) error {
		doomed = db.expiredProbeKeys(tx.Bucket([]byte(BucketProbes)), now)
		return nil
	})
	if err != nil {
		return 0, err
	}
	for start := 0; start < len(doomed); start += retentionChunk {
		chunk := doomed[start:min(start+retentionChunk, len(doomed))]
		err = db.bolt.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(BucketProbes))
			for _, k := range chunk {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return removed, fmt.Errorf("apply retention to %s: %w", db.path, err)
		}
		removed += len(chunk)
	}
	if removed > 0 {
		db.log.Info("applied probe history retention", "removed", removed)
	}
	return removed, nil
}

// probeRecord is what retention needs from a stored attempt.
type probeRecord struct {
	key    []byte
	at     time.Time
	failed bool
}

// expiredProbeKeys walks the bucket once; keys are grouped by tenant and
// ascending in time within a group.
func (db *DB) expiredProbeKeys(b *bolt.Bucket, now time.Time) [][]byte {
	var doomed [][]byte
	var group []probeRecord
	var groupTenant string
	flush := func() {
		doomed = append(doomed, db.retention.expired(group, now)...)
		group = group[:0]
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		tenant, at, ok := splitProbeKey(k)
		if !ok {
			continue // not ours to judge; 'db check' reports it
		}
		if tenant != groupTenant {
			flush()
			groupTenant = tenant
		}
		group = append(group, probeRecord{key: bytes.Clone(k), at: at, failed: recordFailed(v)})
	}
	flush()
	return doomed
}

// recordFailed reads only the outcome. An undecodable record counts as a
// failure so that it gets the longer window before it is aged out.
func recordFailed(v []byte) bool {
	var o struct {
		Outcome string `json:"outcome"`
	}
	if err := json.Unmarshal(v, &o); err != nil {
		return true
	}
	return o.Outcome != OutcomeOK
}

// expired returns the keys of one tenant's records (oldest first) that fall
// outside the count or age limit of their kind.
func (r Retention) expired(records []probeRecord, now time.Time) [][]byte {
	var out [][]byte
	successes, failures := 0, 0
	for i := len(records) - 1; i >= 0; i-- {
		rec := records[i]
		age := now.Sub(rec.at)
		keep := false
		if rec.failed {
			failures++
			keep = failures <= r.MaxFailures && age <= r.MaxFailureAge
		} else {
			successes++
			keep = successes <= r.MaxSuccesses && age <= r.MaxSuccessAge
		}
		if !keep {
			out = append(out, rec.key)
		}
	}
	return out
}
