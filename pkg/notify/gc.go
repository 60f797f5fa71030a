package notify

import (
	"time"

	"github.com/tokenhealth/tokenhealth/internal/store"
)

// threadRefTTL keeps a delivered message's thread reference at least this
// long after the last alert that refers to it is gone.
const threadRefTTL = 24 * time.Hour

// gcThreadsLocked deletes thread references that no alert and no queued
// message can use any more, so the alert log does not grow without bound.
func (n *Notifier) gcThreadsLocked(now time.Time) {
	used := map[string]bool{}
	for _, e := range n.state.log {
		used[e.ThreadOf] = true
	}
	for _, e := range n.state.outbox {
		used[e.Message.ThreadOf] = true
		used[e.Message.ID] = true
	}
	var stale []string
	for id, ref := range n.state.threads {
		if !used[id] && now.Sub(ref.At) > threadRefTTL {
			stale = append(stale, id)
		}
	}
	if len(stale) == 0 {
		return
	}
	err := n.opts.DB.Update(func(tx *store.Tx) error {
		for _, id := range stale {
			if err := tx.Delete(store.BucketAlertLog, threadPrefix+id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		n.opts.Logger.Error("clean up thread references", "err", err)
		return
	}
	for _, id := range stale {
		delete(n.state.threads, id)
	}
}
