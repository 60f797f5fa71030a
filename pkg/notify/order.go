package notify

import (
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// After a receiver outage the outbox holds, for each alert, everything the
// notifier decided while the receiver was down: a firing re-send every
// ResendInterval for Alertmanager, repeats for chat and mail, and perhaps
// the resolution. Each entry retries on its own backoff, so without care an
// old entry is delivered after a newer one about the same alert. For
// Alertmanager that is a resurrection: a stale firing re-send arriving after
// the resolution replaces it (its endsAt is later), the alert is active
// again for four resend intervals and Alertmanager pages for it. Two rules
// keep the decision order:
//
//   - PerAlert receivers keep state, not history: the newest queued message
//     for an Alertmanager alert (same key and severity, hence the same label
//     set) supersedes the older ones, which are dropped unsent.
//   - A message waits while an older message of the same receiver about one
//     of its alerts is still queued, so what people read stays in order.

// alertIdentity is one alert as one receiver knows it. Alertmanager
// identifies an alert by its labels, severity included; a grouped receiver
// by the alert key alone.
type alertIdentity struct {
	receiver string
	key      string
	severity health.Severity
}

func (n *Notifier) identities(e *outboxEntry) []alertIdentity {
	perAlert := n.receivers[e.Message.Receiver].Delivery == PerAlert
	out := make([]alertIdentity, 0, len(e.Message.Alerts))
	for _, a := range e.Message.Alerts {
		id := alertIdentity{receiver: e.Message.Receiver, key: a.Key}
		if perAlert {
			id.severity = a.Severity
		}
		out = append(out, id)
	}
	return out
}

// supersedeLocked drops queued PerAlert messages that a newer queued
// message about the same Alertmanager alert makes pointless. A message
// being delivered is left alone; the newer one waits for it.
func (n *Notifier) supersedeLocked() {
	newest := map[alertIdentity]uint64{}
	for seq, e := range n.state.outbox {
		if r, ok := n.receivers[e.Message.Receiver]; !ok || r.Delivery != PerAlert {
			continue
		}
		for _, id := range n.identities(e) {
			newest[id] = max(newest[id], seq)
		}
	}
	var stale []*outboxEntry
	for _, seq := range sortedSeqs(n.state.outbox) {
		e := n.state.outbox[seq]
		if n.busy[seq] {
			continue
		}
		ids := n.identities(e)
		superseded := len(ids) > 0
		for _, id := range ids {
			if newest[id] <= seq { // also 0: not a PerAlert message
				superseded = false
			}
		}
		if superseded {
			stale = append(stale, e)
		}
	}
	if len(stale) == 0 {
		return
	}
	err := n.opts.DB.Update(func(tx *store.Tx) error {
		for _, e := range stale {
			if err := tx.Delete(store.BucketOutbox, outboxKey(e.Seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		n.opts.Logger.Error("drop superseded notifications", "err", err)
		return
	}
	perReceiver := map[string]int{}
	for _, e := range stale {
		delete(n.state.outbox, e.Seq)
		perReceiver[e.Message.Receiver]++
	}
	for r, count := range perReceiver {
		n.opts.Logger.Info("queued notifications superseded by newer ones for the same alerts", "receiver", r, "dropped", count)
	}
}

// oldestQueuedLocked maps every queued alert to the lowest outbox sequence
// that holds it.
func (n *Notifier) oldestQueuedLocked() map[alertIdentity]uint64 {
	oldest := map[alertIdentity]uint64{}
	for seq, e := range n.state.outbox {
		for _, id := range n.identities(e) {
			if cur, ok := oldest[id]; !ok || seq < cur {
				oldest[id] = seq
			}
		}
	}
	return oldest
}

// waitsForOlder reports whether e must wait for an older queued message of
// its receiver about one of its alerts.
func (n *Notifier) waitsForOlder(e *outboxEntry, oldest map[alertIdentity]uint64) bool {
	for _, id := range n.identities(e) {
		if oldest[id] < e.Seq {
			return true
		}
	}
	return false
}
