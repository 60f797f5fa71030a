package store

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Group commit for the hot write paths (probe history, token caches, Batch).
//
// Every bbolt commit costs two fdatasyncs, so one transaction per write caps
// the agent at a few hundred writes a second however many probes run. A
// single committer goroutine instead takes everything queued while the
// previous commit was syncing and writes it in one transaction.
//
// Unlike bbolt's DB.Batch there is no fixed delay: a lone writer commits at
// once. When the previous batch had several writers, they are most likely
// about to write again, so the committer lingers briefly (at most
// maxLinger, well under one fsync) for as many writes as the last batch
// held; without that, writers woken by one commit split into cohorts that
// each pay a full fsync.

const (
	// writeQueueSize bounds memory; writers block (back-pressure) when full.
	writeQueueSize = 4096
	// maxBatch bounds one transaction's dirty pages.
	maxBatch = 1000
	// maxLinger bounds the wait for the previous batch's writers to return.
	maxLinger = time.Millisecond
)

// pendingWrite is one queued write. apply may run twice: alone after a
// shared transaction failed.
type pendingWrite struct {
	apply func(tx *bolt.Tx) error
	done  chan error // buffered: the committer never blocks on a reply
}

type groupCommitter struct {
	db      *DB
	queue   chan pendingWrite
	mu      sync.RWMutex // held shared by submitters, exclusively by close
	closed  bool
	stopped chan struct{}
	commits atomic.Int64 // transactions run; the benchmark reports writes per commit
}

func newGroupCommitter(db *DB) *groupCommitter {
	g := &groupCommitter{db: db, queue: make(chan pendingWrite, writeQueueSize), stopped: make(chan struct{})}
	go g.run()
	return g
}

// submit queues apply and waits until it is committed.
func (g *groupCommitter) submit(apply func(tx *bolt.Tx) error) error {
	w := pendingWrite{apply: apply, done: make(chan error, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return ErrClosed
	}
	g.queue <- w
	g.mu.RUnlock()
	return <-w.done
}

func (g *groupCommitter) run() {
	defer close(g.stopped)
	batch := make([]pendingWrite, 0, maxBatch)
	linger := time.NewTimer(maxLinger)
	linger.Stop()
	lastSize := 0
	for first := range g.queue {
		batch = append(batch[:0], first)
		if lastSize > 1 {
			linger.Reset(maxLinger)
		wait:
			for len(batch) < lastSize {
				select {
				case w, ok := <-g.queue:
					if !ok {
						break wait
					}
					batch = append(batch, w)
				case <-linger.C:
					break wait
				}
			}
			linger.Stop()
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case w, ok := <-g.queue:
				if !ok {
					break drain
				}
				batch = append(batch, w)
			default:
				break drain
			}
		}
		lastSize = len(batch)
		g.commit(batch)
	}
}

// commit writes the batch in one transaction. If that fails, each write is
// retried alone so one bad record cannot fail its neighbours.
func (g *groupCommitter) commit(batch []pendingWrite) {
	g.commits.Add(1)
	err := g.update(func(tx *bolt.Tx) error {
		for _, w := range batch {
			if err := g.safeApply(w.apply, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, w := range batch {
			w.done <- err
		}
		return
	}
	for _, w := range batch {
		w.done <- g.update(func(tx *bolt.Tx) error { return g.safeApply(w.apply, tx) })
	}
}

// update is bbolt's Update with a damaged page met while committing (bbolt
// asserts) reported as a CorruptError instead of killing the committer.
func (g *groupCommitter) update(fn func(*bolt.Tx) error) (err error) {
	defer g.db.recoverDamage(&err)
	return g.db.bolt.Update(fn)
}

// safeApply turns a panic in one caller's function into that caller's
// error instead of killing the committer every other writer waits on. A
// bbolt assertion is a damaged page and says so, with the advice.
func (g *groupCommitter) safeApply(apply func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if msg := fmt.Sprint(r); strings.HasPrefix(msg, "assertion failed: ") {
				err = &CorruptError{Path: g.db.path, Reason: "damaged page: " + msg}
				return
			}
			err = fmt.Errorf("panic in batched write: %v", r)
		}
	}()
	return apply(tx)
}

// close stops accepting writes, commits what is queued and waits for the
// committer to finish.
func (g *groupCommitter) close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.queue)
	}
	g.mu.Unlock()
	<-g.stopped
}
