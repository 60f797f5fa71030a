package notify

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// Keys in the alert_log and outbox buckets. The alert log is the
// notification log: what each receiver has been told about each alert. It
// is the durable "active set": after a restart, an entry whose finding is
// gone produces the resolved notification, and an entry still firing
// produces no second "new" notification.
const (
	logPrefix    = "a/" // a/<receiver>\x1f<alert key> -> logEntry
	threadPrefix = "t/" // t/<message id> -> threadRef
	outboxPrefix = "m/" // m/<20-digit sequence> -> outboxEntry
	outboxSeqKey = "seq"
)

// logEntry records what receiver was last told about one alert.
type logEntry struct {
	Receiver string          `json:"receiver"`
	Key      string          `json:"key"`
	TenantID string          `json:"tenantId"`
	Severity health.Severity `json:"severity"` // as last notified
	Finding  health.Finding  `json:"finding"`  // as last evaluated
	StartsAt time.Time       `json:"startsAt"`
	// LastNotified is when the last firing message was queued.
	LastNotified time.Time `json:"lastNotified"`
	// ThreadOf is the message that last announced the alert; its resolved
	// notification replies under it.
	ThreadOf string `json:"threadOf"`
}

func logKey(receiver, alertKey string) string { return logPrefix + receiver + "\x1f" + alertKey }

// threadRef is what an integration recorded about a delivered message.
type threadRef struct {
	Ref string    `json:"ref"`
	At  time.Time `json:"at"`
}

// outboxEntry is one message waiting for delivery. It is written in the
// same transaction as the log change that caused it, before any attempt.
type outboxEntry struct {
	Seq     uint64  `json:"seq"`
	Message Message `json:"message"`
	// GroupKey lets alerts arriving within the group window join the entry
	// while NotBefore is ahead; empty for messages that never merge.
	GroupKey    string    `json:"groupKey,omitempty"`
	NotBefore   time.Time `json:"notBefore"`
	NextAttempt time.Time `json:"nextAttempt"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"lastError,omitempty"`
}

func outboxKey(seq uint64) string { return fmt.Sprintf("%s%020d", outboxPrefix, seq) }

// dueAt is the earliest time the entry may be attempted.
func (e *outboxEntry) dueAt() time.Time {
	if e.NextAttempt.After(e.NotBefore) {
		return e.NextAttempt
	}
	return e.NotBefore
}

func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AlertKey is the stable identity of an alert: Finding.Key (tenant, kind,
// policy), plus the cause for agent-health alerts, which all share the
// agent's pseudo-tenant and differ only by what is broken.
func AlertKey(f health.Finding) string {
	k := f.Key()
	if f.Kind == health.KindAgentHealth && f.Cause != "" {
		k += "/" + f.Cause
	}
	return k
}

// persisted is everything the notifier reloads at start.
type persisted struct {
	log      map[string]*logEntry            // by logKey
	byTenant map[string]map[string]*logEntry // tenant -> logKey -> entry
	threads  map[string]threadRef            // by message ID
	outbox   map[uint64]*outboxEntry
	seq      uint64
}

func loadState(db *store.DB) (*persisted, error) {
	p := &persisted{log: map[string]*logEntry{}, byTenant: map[string]map[string]*logEntry{}, threads: map[string]threadRef{}, outbox: map[uint64]*outboxEntry{}}
	err := db.View(func(tx *store.Tx) error {
		if err := tx.ForEach(store.BucketAlertLog, logPrefix, func(k string, v []byte) error {
			var e logEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("alert log %q: %w", k, err)
			}
			p.setLog(k, &e)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.ForEach(store.BucketAlertLog, threadPrefix, func(k string, v []byte) error {
			var r threadRef
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("alert log %q: %w", k, err)
			}
			p.threads[strings.TrimPrefix(k, threadPrefix)] = r
			return nil
		}); err != nil {
			return err
		}
		if err := tx.ForEach(store.BucketOutbox, outboxPrefix, func(k string, v []byte) error {
			var e outboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("outbox %q: %w", k, err)
			}
			p.outbox[e.Seq] = &e
			p.seq = max(p.seq, e.Seq)
			return nil
		}); err != nil {
			return err
		}
		raw, err := tx.Get(store.BucketOutbox, outboxSeqKey)
		if err != nil || raw == nil {
			return err
		}
		n, err := strconv.ParseUint(string(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("outbox sequence %q: %w", raw, err)
		}
		p.seq = max(p.seq, n)
		return nil
	})
	return p, err
}

// setLog records e under lk in both indexes.
func (p *persisted) setLog(lk string, e *logEntry) {
	p.log[lk] = e
	m := p.byTenant[e.TenantID]
	if m == nil {
		m = map[string]*logEntry{}
		p.byTenant[e.TenantID] = m
	}
	m[lk] = e
}

// delLog removes lk from both indexes.
func (p *persisted) delLog(lk string) {
	e, ok := p.log[lk]
	if !ok {
		return
	}
	delete(p.log, lk)
	if m := p.byTenant[e.TenantID]; m != nil {
		delete(m, lk)
		if len(m) == 0 {
			delete(p.byTenant, e.TenantID)
		}
	}
}
