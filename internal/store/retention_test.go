package store

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

func TestRetentionKeepsFailuresLonger(t *testing.T) {
	vc := clock.NewVirtual(t0, 0)
	db := openTemp(t, Options{Clock: vc, Retention: Retention{
		MaxSuccesses: 3, MaxSuccessAge: 24 * time.Hour,
		MaxFailures: 5, MaxFailureAge: 10 * 24 * time.Hour,
	}})
	h, d := time.Hour, 24*time.Hour
	seed := map[string][]ProbeAttempt{
		"a": {
			{Time: t0.Add(-1 * h), Outcome: OutcomeOK},
			{Time: t0.Add(-2 * h), Outcome: OutcomeOK},
			{Time: t0.Add(-3 * h), Outcome: OutcomeOK},
			{Time: t0.Add(-4 * h), Outcome: OutcomeOK},  // 4th success: over the count
			{Time: t0.Add(-5 * h), Outcome: OutcomeOK},  // 5th success: over the count
			{Time: t0.Add(-48 * h), Outcome: OutcomeOK}, // too old for a success
			{Time: t0.Add(-1 * d), Outcome: OutcomeDefinitive},
			{Time: t0.Add(-2 * d), Outcome: OutcomeTransient},
			{Time: t0.Add(-3 * d), Outcome: OutcomeDefinitive},
			{Time: t0.Add(-4 * d), Outcome: OutcomeDefinitive},
			{Time: t0.Add(-11 * d), Outcome: OutcomeDefinitive}, // 5th failure, but too old
		},
		"b": {
			{Time: t0.Add(-30 * h), Outcome: OutcomeOK},
			{Time: t0.Add(-31 * h), Outcome: OutcomeOK},
			{Time: t0.Add(-30 * h), Outcome: OutcomeTransient}, // same age as the successes, but kept
		},
	}
	for tenant, attempts := range seed {
		for _, a := range attempts {
			if err := db.AppendProbe(tenant, a); err != nil {
				t.Fatal(err)
			}
		}
	}

	removed, err := db.ApplyRetention()
	if err != nil || removed != 6 {
		t.Fatalf("first pass removed %d, %v; want 6", removed, err)
	}
	assertHistory(t, db, "a", []time.Duration{-1 * h, -2 * h, -3 * h, -1 * d, -2 * d, -3 * d, -4 * d})
	assertHistory(t, db, "b", []time.Duration{-30 * h})

	// Eight days later the successes have aged out and only the failures
	// still inside ten days remain.
	vc.Advance(8*d + h)
	removed, err = db.ApplyRetention()
	if err != nil || removed != 6 {
		t.Fatalf("second pass removed %d, %v; want 6", removed, err)
	}
	assertHistory(t, db, "a", []time.Duration{-1 * d})
	assertHistory(t, db, "b", []time.Duration{-30 * h})

	if removed, err := db.ApplyRetention(); removed != 0 || err != nil {
		t.Fatalf("idempotent pass removed %d, %v", removed, err)
	}
}

// assertHistory compares a tenant's history with offsets from t0, newest first.
func assertHistory(t *testing.T, db *DB, tenant string, want []time.Duration) {
	t.Helper()
	hist, err := db.ProbeHistory(tenant, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]time.Duration, len(hist))
	for i, a := range hist {
		got[i] = a.Time.Sub(t0)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("tenant %s history offsets %v; want %v", tenant, got, want)
	}
}

func TestRetentionDefaults(t *testing.T) {
	got := Retention{MaxFailures: 5}.withDefaults()
	want := Retention{MaxSuccesses: 200, MaxSuccessAge: 14 * 24 * time.Hour, MaxFailures: 5, MaxFailureAge: 90 * 24 * time.Hour}
	if got != want {
		t.Fatalf("defaults = %+v; want %+v", got, want)
	}
}

// BenchmarkApplyRetention measures one retention pass over 500 tenants with
// 300 records each (100 over the success limit):
//
//	go test -run '^$' -bench BenchmarkApplyRetention ./internal/store/
func BenchmarkApplyRetention(b *testing.B) {
	const tenants, perTenant = 500, 300
	for range b.N {
		b.StopTimer()
		db, err := Open(b.TempDir()+"/state.db", Options{Key: testKey, Clock: clock.NewVirtual(t0, 0)})
		if err != nil {
			b.Fatal(err)
		}
		err = db.bolt.Update(func(tx *boltTx) error {
			bucket := tx.Bucket([]byte(BucketProbes))
			for tn := range tenants {
				for i := range perTenant {
					w, err := db.newProbeWrite(fmt.Sprintf("tenant-%04d", tn), ProbeAttempt{Time: t0.Add(-time.Duration(i) * time.Minute), Outcome: OutcomeOK})
					if err != nil {
						return err
					}
					if err := putProbe(bucket, w); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		removed, err := db.ApplyRetention()
		if err != nil || removed != tenants*(perTenant-DefaultRetention.MaxSuccesses) {
			b.Fatalf("removed %d, %v", removed, err)
		}
		b.StopTimer()
		db.Close()
	}
	b.ReportMetric(float64(tenants*perTenant), "records/pass")
}

func TestRetentionDeletesInChunks(t *testing.T) {
	saved := retentionChunk
	retentionChunk = 5
	t.Cleanup(func() { retentionChunk = saved })
	db := openTemp(t, Options{Clock: clock.NewVirtual(t0, 0), Retention: Retention{MaxSuccesses: 2}})
	for _, tenant := range []string{"a", "b", "c"} {
		for i := range 10 {
			if err := db.AppendProbe(tenant, ProbeAttempt{Time: t0.Add(-time.Duration(i) * time.Minute), Outcome: OutcomeOK}); err != nil {
				t.Fatal(err)
			}
		}
	}
	removed, err := db.ApplyRetention()
	if err != nil || removed != 24 {
		t.Fatalf("removed %d, %v; want 24 in five chunks", removed, err)
	}
	for _, tenant := range []string{"a", "b", "c"} {
		assertHistory(t, db, tenant, []time.Duration{0, -time.Minute})
	}
}
