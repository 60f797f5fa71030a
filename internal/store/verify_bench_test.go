package store

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// BenchmarkVerifyPages measures what the page walk adds to Open (verify.go)
// on the state file of a 10,000-tenant agent, page cache warm (a restart)
// and cold (a boot: the file's pages are dropped from the cache with
// posix_fadvise before each walk). Run:
//
//	go test -run '^$' -bench BenchmarkVerifyPages -benchtime 3x -timeout 30m ./internal/store/
//
// The file is built first (about a minute, outside the timing): per tenant
// 200 kept successful probes (the default retention), 720 kept failures for
// one tenant in 40 (hourly for 30 days), an encrypted token cache, its
// health and enrollment records, a policy snapshot and two findings.
// Metrics: file-MB, pages in use, and MB/s of file verified.
func BenchmarkVerifyPages(b *testing.B) {
	for _, tenants := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			if testing.Short() {
				b.Skip("-short: building the state file takes minutes")
			}
			path := fleetStateFile(b, tenants)
			info, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			for _, cache := range []string{"warm", "cold"} {
				b.Run("cache="+cache, func(b *testing.B) {
					var inUse int
					for b.Loop() {
						b.StopTimer()
						if cache == "cold" {
							dropFromPageCache(b, path)
						}
						bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
						if err != nil {
							b.Fatal(err)
						}
						inUse = int(info.Size()/int64(bdb.Info().PageSize)) - bdb.Stats().FreePageN
						b.StartTimer()
						err = verifyPages(bdb, path, discard)
						b.StopTimer()
						if cerr := bdb.Close(); err == nil {
							err = cerr
						}
						if err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					b.ReportMetric(float64(info.Size())/(1<<20), "file-MB")
					b.ReportMetric(float64(inUse), "pages-in-use")
					b.ReportMetric(float64(info.Size())/(1<<20)/(b.Elapsed().Seconds()/float64(b.N)), "MB/s")
				})
			}
			// The whole Open, as the daemon pays it at start (warm cache).
			b.Run("open", func(b *testing.B) {
				for b.Loop() {
					db, err := Open(path, Options{Key: testKey})
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if err := db.Close(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		})
	}
}

// dropFromPageCache asks the kernel to forget the file's cached pages, as
// after a reboot. Only this file is affected.
func dropFromPageCache(b *testing.B, path string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		b.Fatal(err)
	}
}

// fleetStateFile writes a state file for tenants tenants through bbolt
// directly (no fsync, 100 tenants per transaction), after Open laid out the
// buckets and the key check.
func fleetStateFile(b *testing.B, tenants int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "state.db")
	db, err := Open(path, Options{Key: testKey})
	if err != nil {
		b.Fatal(err)
	}
	sealer := db.aead
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer bdb.Close()
	ok, _ := json.Marshal(ProbeAttempt{Outcome: OutcomeOK, LatencyMS: 52.3, TokenSource: "identity_provider",
		Message: "refresh token redeemed", AccessTokenExpiry: t0.Add(time.Hour), Time: t0})
	failed, _ := json.Marshal(ProbeAttempt{Outcome: OutcomeDefinitive, LatencyMS: 61.8, Codes: []int{50173},
		Cause: "password_changed", Error: "invalid_grant", TraceID: "6f1c2a4e-0000-4000-8000-000000000000",
		CorrelationID: "2b7d9c10-0000-4000-8000-000000000000", Time: t0,
		Message: "The refresh token was issued before the password change; the account must sign in again."})
	cache := make([]byte, 7000) // an MSAL cache: access, refresh and id token, account
	_, _ = rand.Read(cache)
	record := func(n int) []byte { return []byte(`{"v":"` + strings.Repeat("x", n) + `"}`) }
	const perTx = 100
	for first := 0; first < tenants; first += perTx {
		err := bdb.Update(func(tx *bolt.Tx) error {
			for i := first; i < min(first+perTx, tenants); i++ {
				id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
				probes := tx.Bucket([]byte(BucketProbes))
				for n := range 200 {
					if err := probes.Put(probeKey(id, t0.Add(time.Duration(n)*15*time.Minute).UnixNano()), ok); err != nil {
						return err
					}
				}
				if i%40 == 0 {
					for n := range 720 {
						if err := probes.Put(probeKey(id, t0.Add(time.Duration(n)*time.Hour+time.Second).UnixNano()), failed); err != nil {
							return err
						}
					}
				}
				sealed, err := sealer.seal(cache, []byte(id))
				if err != nil {
					return err
				}
				puts := []struct {
					bucket, key string
					value       []byte
				}{
					{BucketTokenCache, id, sealed},
					{BucketTenants, id + "/health", record(900)},
					{BucketTenants, id + "/enrollment", record(300)},
					{BucketPolicies, id, record(10000)},
					{BucketFindings, id + "/f1", record(600)},
					{BucketFindings, id + "/f2", record(600)},
				}
				for _, p := range puts {
					if err := tx.Bucket([]byte(p.bucket)).Put([]byte(p.key), p.value); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := bdb.Sync(); err != nil {
		b.Fatal(err)
	}
	return path
}

var discard = slog.New(slog.DiscardHandler)
