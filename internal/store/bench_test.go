package store

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkAppendProbe compares group commit with one bbolt transaction per
// write (two fdatasyncs each) and with bbolt's own DB.Batch (fixed 10ms
// gathering delay), at 1, 16 and 256 concurrent writers. Run:
//
//	go test -run '^$' -bench BenchmarkAppendProbe -benchtime 2s ./internal/store/
//
// writes/s is the figure to compare; the state file is on the test's temp
// directory, so the disk under $TMPDIR sets the fsync cost.
func BenchmarkAppendProbe(b *testing.B) {
	modes := []struct {
		name  string
		write func(db *DB, tenant string, a ProbeAttempt) error
	}{
		{"groupcommit", (*DB).AppendProbe},
		{"update-per-write", (*DB).appendProbeUnbatched},
		{"bbolt-batch", appendProbeBoltBatch},
	}
	attempt := ProbeAttempt{
		Outcome: OutcomeDefinitive, LatencyMS: 231.4, Codes: []int{50076}, Cause: "mfa_required",
		Error: "invalid_grant", SubError: "basic_action", TraceID: "6f1c2a4e-0000-4000-8000-000000000000",
		CorrelationID: "2b7d9c10-0000-4000-8000-000000000000", TokenSource: "refresh_token",
		Message: "AADSTS50076: multi-factor authentication required",
	}
	for _, mode := range modes {
		for _, writers := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", mode.name, writers), func(b *testing.B) {
				db, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{Key: testKey})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				// RunParallel starts parallelism*GOMAXPROCS goroutines; one
				// writer needs GOMAXPROCS 1 to be exactly one.
				if writers < runtime.GOMAXPROCS(0) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(writers))
				}
				procs := runtime.GOMAXPROCS(0)
				parallelism := (writers + procs - 1) / procs
				b.SetParallelism(parallelism)
				var next atomic.Int64
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					tenant := fmt.Sprintf("tenant-%03d", next.Add(1))
					for pb.Next() {
						if err := mode.write(db, tenant, attempt); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
				b.ReportMetric(float64(parallelism*procs), "goroutines")
				if commits := db.writes.commits.Load(); commits > 0 {
					b.ReportMetric(float64(b.N)/float64(commits), "writes/commit")
				}
			})
		}
	}
}

// appendProbeBoltBatch is the bbolt DB.Batch alternative, for comparison.
func appendProbeBoltBatch(db *DB, tenantID string, a ProbeAttempt) error {
	w, err := db.newProbeWrite(tenantID, a)
	if err != nil {
		return err
	}
	return db.bolt.Batch(func(tx *boltTx) error { return putProbe(tx.Bucket([]byte(BucketProbes)), w) })
}
