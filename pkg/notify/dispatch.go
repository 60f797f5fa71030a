package notify

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/store"
)

// Run delivers the outbox until ctx ends: due messages in queue order, at
// most MaxInFlight at once per receiver, a resolved message only after the
// firing message it threads under. It also ticks the notifier so repeats,
// lead times and silence expiries happen without a new evaluation. Run
// returns after in-flight deliveries have finished.
func (n *Notifier) Run(ctx context.Context) error {
	n.mu.Lock()
	if n.running {
		n.mu.Unlock()
		return errors.New("notify: Run called twice")
	}
	n.running = true
	n.mu.Unlock()

	var wg sync.WaitGroup
	defer wg.Wait()
	nextTick := n.opts.Clock.Now()
	for {
		now := n.opts.Clock.Now()
		if !now.Before(nextTick) {
			if err := n.Tick(); err != nil {
				n.opts.Logger.Error("re-check alerts", "err", err)
			}
			nextTick = now.Add(n.opts.TickInterval)
		}
		wait := nextTick.Sub(now)
		for _, job := range n.claimDue(now, &wait) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n.deliver(ctx, job)
			}()
		}
		// Wait until an absolute time: work done since now was read must
		// not push the next wake-up further out.
		until := now.Add(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-n.wake:
		case <-n.opts.Clock.After(until.Sub(n.opts.Clock.Now())):
		}
	}
}

// job is one claimed outbox entry: a private copy of its message.
type job struct {
	seq      uint64
	receiver Receiver
	msg      Message
	attempts int
	firstDue time.Time
}

// claimDue marks due entries busy and returns them; it shortens *wait to
// the next entry that becomes due.
func (n *Notifier) claimDue(now time.Time, wait *time.Duration) []job {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.supersedeLocked()
	pendingIDs := map[string]bool{}
	for _, e := range n.state.outbox {
		pendingIDs[e.Message.ID] = true
	}
	oldest := n.oldestQueuedLocked()
	var jobs []job
	for _, seq := range sortedSeqs(n.state.outbox) {
		e := n.state.outbox[seq]
		if n.busy[seq] {
			continue
		}
		if due := e.dueAt(); due.After(now) {
			*wait = min(*wait, due.Sub(now))
			continue
		}
		// A resolved message waits for the firing message it answers, so
		// that it can thread under it and never arrives first.
		if e.Message.ThreadOf != "" && pendingIDs[e.Message.ThreadOf] {
			continue
		}
		// Nor may it overtake an older message about the same alert.
		if n.waitsForOlder(e, oldest) {
			continue
		}
		r, ok := n.receivers[e.Message.Receiver]
		if !ok {
			n.dropLocked(e, "receiver no longer configured")
			continue
		}
		if n.inFl[r.Name] >= n.opts.MaxInFlight {
			continue
		}
		n.busy[seq] = true
		n.inFl[r.Name]++
		if e.GroupKey != "" && n.open[e.GroupKey] == seq {
			delete(n.open, e.GroupKey)
		}
		msg := e.Message
		msg.Alerts = slices.Clone(e.Message.Alerts)
		if ref, ok := n.state.threads[msg.ThreadOf]; ok {
			msg.ThreadRef = ref.Ref
		}
		jobs = append(jobs, job{seq: seq, receiver: r, msg: msg, attempts: e.Attempts, firstDue: e.NotBefore})
	}
	return jobs
}

func sortedSeqs(m map[uint64]*outboxEntry) []uint64 {
	out := make([]uint64, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// deliver makes one attempt and records its outcome.
func (n *Notifier) deliver(ctx context.Context, j job) {
	actx, cancel := context.WithTimeout(ctx, n.opts.SendTimeout)
	j.msg.Now = n.opts.Clock.Now().UTC()
	retry, err := j.receiver.Integration.Notify(actx, &j.msg)
	cancel()
	n.mu.Lock()
	defer n.mu.Unlock()
	defer n.kick()
	delete(n.busy, j.seq)
	n.inFl[j.receiver.Name]--
	e, ok := n.state.outbox[j.seq]
	if !ok {
		return
	}
	log := n.opts.Logger.With("receiver", j.receiver.Name, "message", j.msg.ID, "kind", j.msg.Kind, "status", j.msg.Status)
	if err == nil {
		n.metrics.sent.WithLabelValues(j.receiver.Type).Inc()
		n.completeLocked(e, j.msg.PostedRef)
		log.Info("notification sent", "alerts", len(j.msg.Alerts), "attempts", j.attempts+1)
		n.receiverHealthyLocked(j.receiver.Name)
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the entry stays queued, unchanged
	}
	ne := AsError(j.receiver.Type, err)
	n.metrics.failed.WithLabelValues(j.receiver.Type, ne.Reason).Inc()
	now := n.opts.Clock.Now()
	switch {
	case !retry:
		log.Error("notification rejected; not retrying", "reason", ne.Reason, "err", err)
		n.dropLocked(e, err.Error())
		if ne.AgentHealth {
			n.receiverBrokenLocked(j.receiver.Name, ne)
		}
	case now.Sub(j.firstDue) > n.opts.MaxAge:
		n.metrics.failed.WithLabelValues(j.receiver.Type, FailExpired).Inc()
		log.Error("notification undeliverable; giving up", "age", now.Sub(j.firstDue), "err", err)
		n.dropLocked(e, err.Error())
	default:
		delay := n.backoff(j.attempts, ne.RetryAfter)
		upd := *e
		upd.Attempts++
		upd.NextAttempt = now.Add(delay)
		upd.LastError = err.Error()
		if werr := n.opts.DB.Update(func(tx *store.Tx) error {
			return tx.PutJSON(store.BucketOutbox, outboxKey(e.Seq), &upd)
		}); werr != nil {
			log.Error("record retry", "err", werr)
		}
		*e = upd
		log.Warn("notification failed; will retry", "reason", ne.Reason, "retry_in", delay, "err", err)
	}
}

// backoff is exponential with "equal jitter" (half fixed, half random), so
// many receivers failing together do not retry in lockstep; a delay the
// receiver asked for wins when it is longer.
func (n *Notifier) backoff(attempts int, retryAfter time.Duration) time.Duration {
	d := n.opts.BackoffInitial
	for i := 0; i < attempts && d < n.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, n.opts.BackoffMax)
	d = d/2 + time.Duration(n.opts.Jitter()*float64(d/2))
	return max(d, min(retryAfter, time.Hour))
}

// completeLocked removes a delivered entry and keeps what a later message
// needs to thread under it.
func (n *Notifier) completeLocked(e *outboxEntry, postedRef string) {
	now := n.opts.Clock.Now().UTC()
	err := n.opts.DB.Update(func(tx *store.Tx) error {
		if postedRef != "" {
			if err := tx.PutJSON(store.BucketAlertLog, threadPrefix+e.Message.ID, threadRef{Ref: postedRef, At: now}); err != nil {
				return err
			}
		}
		return tx.Delete(store.BucketOutbox, outboxKey(e.Seq))
	})
	if err != nil {
		// The message was sent but stays queued: at-least-once delivery
		// means it will go again, with the same idempotency key.
		n.opts.Logger.Error("record delivery", "message", e.Message.ID, "err", err)
		return
	}
	if postedRef != "" {
		n.state.threads[e.Message.ID] = threadRef{Ref: postedRef, At: now}
	}
	delete(n.state.outbox, e.Seq)
}

func (n *Notifier) dropLocked(e *outboxEntry, why string) {
	if err := n.opts.DB.Update(func(tx *store.Tx) error {
		return tx.Delete(store.BucketOutbox, outboxKey(e.Seq))
	}); err != nil {
		n.opts.Logger.Error("drop notification", "message", e.Message.ID, "err", err)
		return
	}
	n.opts.Logger.Warn("notification dropped", "message", e.Message.ID, "receiver", e.Message.Receiver, "why", why)
	delete(n.state.outbox, e.Seq)
	if e.GroupKey != "" && n.open[e.GroupKey] == e.Seq {
		delete(n.open, e.GroupKey)
	}
}

// OutboxEntry describes a queued message for status output.
type OutboxEntry struct {
	ID          string    `json:"id"`
	Receiver    string    `json:"receiver"`
	Status      Status    `json:"status"`
	Kind        string    `json:"kind"`
	Alerts      int       `json:"alerts"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"nextAttempt"`
	LastError   string    `json:"lastError,omitempty"`
}

// Outbox lists the queued messages in delivery order.
func (n *Notifier) Outbox() []OutboxEntry {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []OutboxEntry
	for _, seq := range sortedSeqs(n.state.outbox) {
		e := n.state.outbox[seq]
		out = append(out, OutboxEntry{
			ID: e.Message.ID, Receiver: e.Message.Receiver, Status: e.Message.Status, Kind: string(e.Message.Kind),
			Alerts: len(e.Message.Alerts), Attempts: e.Attempts, NextAttempt: e.dueAt(), LastError: e.LastError,
		})
	}
	return out
}

// Flush delivers every message due now and waits for the attempts to end;
// it returns how many attempts were made. Tests and one-shot commands use
// it instead of Run.
func (n *Notifier) Flush(ctx context.Context) int {
	total := 0
	for {
		wait := time.Duration(1<<63 - 1)
		jobs := n.claimDue(n.opts.Clock.Now(), &wait)
		if len(jobs) == 0 {
			return total
		}
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Go(func() { n.deliver(ctx, j) })
		}
		wg.Wait()
		total += len(jobs)
	}
}
