package notify

import (
	"slices"
	"strconv"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// writer makes the changes of one reconcile inside one transaction and
// mirrors them in memory as it goes (reloadLocked undoes a failed one).
type writer struct {
	n     *Notifier
	tx    *store.Tx
	now   time.Time
	dirty bool // something was written
}

func (w *writer) putLog(lk string, e *logEntry) error {
	if err := w.tx.PutJSON(store.BucketAlertLog, lk, e); err != nil {
		return err
	}
	w.dirty = true
	w.n.state.setLog(lk, e)
	return nil
}

func (w *writer) deleteLog(lk string) error {
	if err := w.tx.Delete(store.BucketAlertLog, lk); err != nil {
		return err
	}
	w.dirty = true
	w.n.state.delLog(lk)
	return nil
}

// enqueue adds alert to the open group of its kind for receiver r, or
// queues a new message. It returns the message ID.
func (w *writer) enqueue(r Receiver, status Status, reason Reason, a Alert, threadOf string) (string, error) {
	n := w.n
	w.dirty = true
	group := ""
	notBefore := w.now
	if r.Delivery == Grouped {
		group = r.Name + "\x1f" + string(status) + "\x1f" + string(reason) + "\x1f" + string(a.Finding.Kind) + "\x1f" + threadOf
		notBefore = w.now.Add(n.opts.GroupWindow)
		if seq, ok := n.open[group]; ok {
			if e, ok := n.state.outbox[seq]; ok && e.NotBefore.After(w.now) && !n.busy[seq] {
				e.Message.Alerts = slices.DeleteFunc(e.Message.Alerts, func(x Alert) bool { return x.Key == a.Key })
				e.Message.Alerts = append(e.Message.Alerts, a)
				if a.Severity.Rank() > e.Message.Severity.Rank() {
					e.Message.Severity = a.Severity
				}
				return e.Message.ID, w.tx.PutJSON(store.BucketOutbox, outboxKey(seq), e)
			}
		}
	}
	n.state.seq++
	e := &outboxEntry{
		Seq: n.state.seq, GroupKey: group, NotBefore: notBefore,
		Message: Message{
			ID: newMessageID(), Receiver: r.Name, Status: status, Reason: reason, Kind: a.Finding.Kind,
			Severity: a.Severity, Alerts: []Alert{a}, CreatedAt: w.now, ThreadOf: threadOf,
		},
	}
	if err := w.tx.PutJSON(store.BucketOutbox, outboxKey(e.Seq), e); err != nil {
		return "", err
	}
	if err := w.tx.Put(store.BucketOutbox, outboxSeqKey, []byte(strconv.FormatUint(n.state.seq, 10))); err != nil {
		return "", err
	}
	n.state.outbox[e.Seq] = e
	if group != "" {
		n.open[group] = e.Seq
	}
	return e.Message.ID, nil
}

// queuedNew returns the outbox entry of message msgID when it announces
// alerts as new and is still inside its group window (nobody has been told
// yet), with the index of alert key in it.
func (w *writer) queuedNew(msgID, key string) (*outboxEntry, int) {
	if msgID == "" {
		return nil, -1
	}
	for seq, e := range w.n.state.outbox {
		if e.Message.ID != msgID {
			continue
		}
		if e.Message.Reason != ReasonNew || e.Attempts > 0 || w.n.busy[seq] || !e.NotBefore.After(w.now) {
			return nil, -1
		}
		i := slices.IndexFunc(e.Message.Alerts, func(a Alert) bool { return a.Key == key })
		if i < 0 {
			return nil, -1
		}
		return e, i
	}
	return nil, -1
}

// withdraw removes alert key from the queued message msgID when nobody has
// been told about it yet: an alert that fires and clears inside the group
// window is flapping, and "new" followed by "resolved" would only be noise.
func (w *writer) withdraw(msgID, key string) (bool, error) {
	e, i := w.queuedNew(msgID, key)
	if e == nil {
		return false, nil
	}
	w.dirty = true
	e.Message.Alerts = slices.Delete(e.Message.Alerts, i, i+1)
	if len(e.Message.Alerts) > 0 {
		e.Message.Severity = worst(e.Message.Alerts)
		return true, w.tx.PutJSON(store.BucketOutbox, outboxKey(e.Seq), e)
	}
	delete(w.n.state.outbox, e.Seq)
	if w.n.open[e.GroupKey] == e.Seq {
		delete(w.n.open, e.GroupKey)
	}
	return true, w.tx.Delete(store.BucketOutbox, outboxKey(e.Seq))
}

// upgradeQueued replaces the alert in the queued message msgID by a, when
// nobody has been told about it yet.
func (w *writer) upgradeQueued(msgID string, a Alert) (bool, error) {
	e, i := w.queuedNew(msgID, a.Key)
	if e == nil {
		return false, nil
	}
	w.dirty = true
	e.Message.Alerts[i] = a
	e.Message.Severity = worst(e.Message.Alerts)
	return true, w.tx.PutJSON(store.BucketOutbox, outboxKey(e.Seq), e)
}

func worst(as []Alert) health.Severity {
	var s health.Severity
	for _, a := range as {
		if a.Severity.Rank() > s.Rank() {
			s = a.Severity
		}
	}
	return s
}
