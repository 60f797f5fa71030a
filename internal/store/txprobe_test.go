package store

import (
	"errors"
	"testing"
	"time"
)

// TestTxAppendProbeCommitsWithTheTransaction: attempts appended in a Batch
// are stored with the other writes of the transaction (two in the same
// nanosecond both kept), and nothing is stored when the transaction fails.
func TestTxAppendProbeCommitsWithTheTransaction(t *testing.T) {
	db := openTemp(t, Options{})
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err := db.Batch(func(tx *Tx) error {
		for _, o := range []string{OutcomeOK, OutcomeTransient} {
			if err := tx.AppendProbe("tenant-a", ProbeAttempt{Time: at, Outcome: o}); err != nil {
				return err
			}
		}
		return tx.PutJSON(BucketTenants, "tenant-a/state", map[string]string{"last": "transient"})
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := db.Batch(func(tx *Tx) error {
		if err := tx.AppendProbe("tenant-a", ProbeAttempt{Time: at.Add(time.Minute), Outcome: OutcomeOK}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failing batch: err = %v", err)
	}
	hist, err := db.ProbeHistory("tenant-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range hist {
		got = append(got, a.Outcome)
	}
	want := []string{OutcomeTransient, OutcomeOK} // newest first; the failed batch left nothing
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("history = %v, want %v", got, want)
	}
	if err := db.Batch(func(tx *Tx) error { return tx.AppendProbe("", ProbeAttempt{Outcome: OutcomeOK}) }); err == nil {
		t.Error("an empty tenant id was accepted")
	}
}
