package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

// BenchmarkStoreGrowth writes the probe history of a fleet over virtual
// days through AppendProbe (group commit, 32 writers as the probe pool)
// with the default retention applied every virtual hour, as the agent's
// maintenance loop does. One tenant in 40 fails for good and is probed
// hourly (the scheduler's failing interval); the rest succeed every 15
// minutes: 96 attempts a day.
//
// It runs 100 tenants for the full 30 days: retention is per tenant, so the
// bytes per tenant it reports times 10,000 is a 10,000-tenant agent's file
// (30 days at 10,000 tenants, 28.8 million group-committed writes, takes
// hours of wall time on a shared two-core machine; the write rate is the
// same per write).
//
// Metrics: bytes/tenant (file size / tenants), file-MB, records kept per
// tenant, writes/s (wall), and the retention pass's wall time.
func BenchmarkStoreGrowth(b *testing.B) {
	for _, tc := range []struct{ tenants, days int }{{100, 30}} {
		b.Run(fmt.Sprintf("tenants=%d/days=%d", tc.tenants, tc.days), func(b *testing.B) {
			if testing.Short() {
				b.Skip("-short: store growth runs for minutes")
			}
			for b.Loop() {
				benchmarkStoreGrowth(b, tc.tenants, tc.days)
			}
		})
	}
}

func benchmarkStoreGrowth(b *testing.B, tenants, days int) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	v := clock.NewVirtual(start, 0)
	path := filepath.Join(b.TempDir(), "state.db")
	db, err := Open(path, Options{Key: testKey, Clock: v})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ids := make([]string, tenants)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	ok := ProbeAttempt{Outcome: OutcomeOK, LatencyMS: 52.3, TokenSource: "identity_provider",
		Message: "refresh token redeemed"}
	failed := ProbeAttempt{Outcome: OutcomeDefinitive, LatencyMS: 61.8, Codes: []int{50173}, Cause: "password_changed",
		Error: "invalid_grant", TraceID: "6f1c2a4e-0000-4000-8000-000000000000",
		CorrelationID: "2b7d9c10-0000-4000-8000-000000000000", Values: map[string]string{"issued_at": "2026-03-01T00:00:00Z"},
		Message: "The refresh token was issued before the password change; the account must sign in again."}

	const round = 15 * time.Minute
	rounds := days * 24 * int(time.Hour/round)
	var writes int
	var writing, retention time.Duration
	for r := range rounds {
		now := v.Now()
		work := make(chan int, tenants)
		for i := range ids {
			// Failing tenants (one in 40) are probed once an hour.
			if i%40 == 0 && r%4 != 0 {
				continue
			}
			work <- i
		}
		close(work)
		n := len(work)
		t0 := time.Now()
		var wg sync.WaitGroup
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					a := ok
					if i%40 == 0 {
						a = failed
					}
					// Spread the round's attempts over its 15 minutes.
					a.Time = now.Add(time.Duration(i) * round / time.Duration(tenants))
					a.AccessTokenExpiry = a.Time.Add(time.Hour)
					if err := db.AppendProbe(ids[i], a); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		writing += time.Since(t0)
		writes += n
		v.Advance(round)
		if (r+1)%4 == 0 { // hourly, as the maintenance loop
			t0 := time.Now()
			if _, err := db.ApplyRetention(); err != nil {
				b.Fatal(err)
			}
			retention += time.Since(t0)
		}
	}
	st, err := db.Stats()
	if err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size())/float64(tenants), "bytes/tenant")
	b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
	b.ReportMetric(float64(st.Keys[BucketProbes])/float64(tenants), "records/tenant")
	b.ReportMetric(float64(writes)/writing.Seconds(), "writes/s")
	b.ReportMetric(retention.Seconds()*1000/float64(rounds/4), "retention-ms/pass")
}
