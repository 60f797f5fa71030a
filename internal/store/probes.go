package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Probe outcomes. Failures (definitive and transient) are kept longer than
// successes by retention, so "why did it fail yesterday" stays answerable.
const (
	OutcomeOK         = "ok"
	OutcomeDefinitive = "definitive"
	OutcomeTransient  = "transient"
)

// ProbeAttempt is one recorded token redemption. Its JSON form is what the
// file holds and what the CLI prints with --json.
type ProbeAttempt struct {
	Time              time.Time         `json:"time"`
	Outcome           string            `json:"outcome"`
	LatencyMS         float64           `json:"latency_ms"`
	Codes             []int             `json:"codes,omitempty"`
	Cause             string            `json:"cause,omitempty"`
	Error             string            `json:"error,omitempty"`
	SubError          string            `json:"suberror,omitempty"`
	TraceID           string            `json:"trace_id,omitempty"`
	CorrelationID     string            `json:"correlation_id,omitempty"`
	Values            map[string]string `json:"values,omitempty"`
	AccessTokenExpiry time.Time         `json:"access_token_expiry,omitzero"`
	TokenSource       string            `json:"token_source,omitempty"`
	Message           string            `json:"message,omitempty"`
}

// Failed reports whether the attempt counts as a failure for retention.
func (a ProbeAttempt) Failed() bool { return a.Outcome != OutcomeOK }

// maxTenantIDLen keeps probe keys far below bbolt's 32 KiB key limit, so a
// batch can never fail on one oversized key.
const maxTenantIDLen = 256

// probeKey is tenantID "/" big-endian UnixNano: byte order is time order
// within a tenant, so a prefix scan reads history in order.
func probeKey(tenantID string, unixNano int64) []byte {
	k := make([]byte, len(tenantID)+1+8)
	copy(k, tenantID)
	k[len(tenantID)] = '/'
	binary.BigEndian.PutUint64(k[len(tenantID)+1:], uint64(unixNano))
	return k
}

// splitProbeKey is the inverse of probeKey.
func splitProbeKey(k []byte) (tenantID string, t time.Time, ok bool) {
	if len(k) < 10 || k[len(k)-9] != '/' {
		return "", time.Time{}, false
	}
	nanos := int64(binary.BigEndian.Uint64(k[len(k)-8:]))
	return string(k[:len(k)-9]), time.Unix(0, nanos).UTC(), true
}

// AppendProbe records an attempt. It is safe from many goroutines: writes
// queued while a commit is in flight share the next commit, so concurrent
// probes are not capped by fsync. It returns once the attempt is durable.
// A zero a.Time is replaced by the store's clock.
func (db *DB) AppendProbe(tenantID string, a ProbeAttempt) error {
	w, err := db.newProbeWrite(tenantID, a)
	if err != nil {
		return err
	}
	return db.writes.submit(func(tx *bolt.Tx) error { return putProbe(tx.Bucket([]byte(BucketProbes)), w) })
}

// AppendProbe records an attempt inside a Batch or Update transaction, so a
// probe's history entry and its state commit together (one group commit per
// probe instead of two).
func (t *Tx) AppendProbe(tenantID string, a ProbeAttempt) error {
	w, err := t.db.newProbeWrite(tenantID, a)
	if err != nil {
		return err
	}
	return putProbe(t.tx.Bucket([]byte(BucketProbes)), w)
}

// probeWrite is an encoded attempt ready to store.
type probeWrite struct {
	tenant string
	nanos  int64
	value  []byte
}

func (db *DB) newProbeWrite(tenantID string, a ProbeAttempt) (probeWrite, error) {
	if err := validTenantID(tenantID); err != nil {
		return probeWrite{}, err
	}
	if len(tenantID) > maxTenantIDLen {
		return probeWrite{}, fmt.Errorf("tenant id is %d bytes; at most %d allowed", len(tenantID), maxTenantIDLen)
	}
	if a.Time.IsZero() {
		a.Time = db.clock.Now()
	}
	raw, err := json.Marshal(a)
	if err != nil {
		return probeWrite{}, fmt.Errorf("encode probe attempt of tenant %s: %w", tenantID, err)
	}
	return probeWrite{tenant: tenantID, nanos: a.Time.UnixNano(), value: raw}, nil
}

// putProbe stores one attempt. Two attempts of a tenant stamped with the
// same nanosecond (a frozen virtual clock does that) must not overwrite each
// other, so the later one moves to the next free nanosecond.
func putProbe(b *bolt.Bucket, w probeWrite) error {
	nanos := w.nanos
	k := probeKey(w.tenant, nanos)
	for b.Get(k) != nil {
		nanos++
		k = probeKey(w.tenant, nanos)
	}
	return b.Put(k, w.value)
}

// appendProbeUnbatched is the one-Update-per-write path, kept for the
// benchmark that shows what group commit buys.
func (db *DB) appendProbeUnbatched(tenantID string, a ProbeAttempt) error {
	w, err := db.newProbeWrite(tenantID, a)
	if err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error { return putProbe(tx.Bucket([]byte(BucketProbes)), w) })
}

// ProbeHistory returns up to limit attempts of tenantID, newest first
// (limit <= 0: all). A record that no longer decodes is skipped and logged;
// 'db check' lists it.
func (db *DB) ProbeHistory(tenantID string, limit int) (_ []ProbeAttempt, err error) {
	defer db.recoverDamage(&err)
	if err := validTenantID(tenantID); err != nil {
		return nil, err
	}
	prefix := []byte(tenantID + "/")
	// '0' is the byte after '/', so seeking to it lands just past this
	// tenant's last key and Prev walks back from the newest.
	end := []byte(tenantID + "0")
	var out []ProbeAttempt
	err = db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(BucketProbes)).Cursor()
		k, v := c.Seek(end)
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			var a ProbeAttempt
			if err := json.Unmarshal(v, &a); err != nil {
				db.log.Warn("skipping undecodable probe record", "tenant", tenantID, "key", describeKey(BucketProbes, k), "err", err)
				continue
			}
			out = append(out, a)
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	return out, err
}
