package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Concurrent writers must share commits: that is the whole point.
func TestConcurrentWritesShareCommits(t *testing.T) {
	db := openTemp(t, Options{})
	const writers, each = 64, 5
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := db.AppendProbe(fmt.Sprintf("t%02d", w), ProbeAttempt{Time: t0.Add(time.Duration(i)), Outcome: OutcomeOK}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	commits := db.writes.commits.Load()
	if commits > writers*each/2 {
		t.Fatalf("%d writes took %d commits; group commit is not batching", writers*each, commits)
	}
	t.Logf("%d writes in %d commits", writers*each, commits)
}

// A failing or panicking function in a shared transaction fails only its
// own caller; its neighbours are retried alone and succeed.
func TestBatchIsolatesFailures(t *testing.T) {
	db := openTemp(t, Options{})
	boom := errors.New("boom")
	var wg sync.WaitGroup
	results := make([]error, 40)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = db.Batch(func(tx *Tx) error {
				if err := tx.Put(BucketOutbox, fmt.Sprintf("m%02d", i), []byte(`{}`)); err != nil {
					return err
				}
				switch i {
				case 7:
					return boom
				case 13:
					panic("bad receiver")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range results {
		switch i {
		case 7:
			if !errors.Is(err, boom) {
				t.Errorf("writer 7: %v; want boom", err)
			}
		case 13:
			if err == nil || err.Error() != "panic in batched write: bad receiver" {
				t.Errorf("writer 13: %v", err)
			}
		default:
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
	}
	var keys []string
	_ = db.ForEach(BucketOutbox, "", func(k string, _ []byte) error { keys = append(keys, k); return nil })
	if len(keys) != 38 {
		t.Fatalf("stored %d messages; want 38 (all but the failed two)", len(keys))
	}
	for _, k := range keys {
		if k == "m07" || k == "m13" {
			t.Fatalf("failed writer's Put %s was committed", k)
		}
	}
}
