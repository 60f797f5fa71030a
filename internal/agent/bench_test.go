package agent

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/graph"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/internal/transport"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// policyBenchSpeed is how fast the virtual clock runs: Graph's limits are
// counted in virtual seconds on both sides, so a pass over 1,000 tenants
// that the limits hold to minutes of Graph time takes seconds here.
const policyBenchSpeed = 4

// BenchmarkPolicyPass runs the agent's Graph reads of one policy pass
// (Agent.read: user, CA policies, named locations, memberships, password
// policy, per-user MFA, two sign-in log queries) for every tenant with
// policyWorkers tenants at a time, through the real msgraph-sdk-go client
// and the per-tenant budget, against the simulator enforcing Graph's
// published limits.
//
// Metrics:
//   - virtual-s: the pass's duration on the clock Graph counts;
//   - x-bound: virtual-s / the bound the limits allow with policyWorkers
//     workers: a tenant's two CA reads (policies, named locations) must be
//     a second apart (1 request/s/tenant), so N tenants take at least
//     N × 1 s / policyWorkers;
//   - 429-share: the share of Graph requests the simulator answered 429
//     (target at most 0.01);
//   - requests/tenant and cpu-ms/tenant (whole process, simulator too).
func BenchmarkPolicyPass(b *testing.B) {
	for _, n := range []int{200, 1000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			if testing.Short() && n > 200 {
				b.Skip("-short: only the 200-tenant smoke run")
			}
			benchmarkPolicyPass(b, n)
		})
	}
}

func benchmarkPolicyPass(b *testing.B, n int) {
	e := newPolicyBenchEnv(b, n)
	a := &Agent{} // read uses no agent state
	var virtual, cpu time.Duration
	var requests, throttled int64
	byBucket := map[string]int64{}
	passes := 0
	for b.Loop() {
		readers := e.readers(b) // fresh budgets: a pass every few hours finds them full
		before := e.sim.GraphStats()
		cpu0 := processCPU()
		start := e.clock.Now()
		var problems atomic.Int64
		next := atomic.Int64{}
		var wg sync.WaitGroup
		for range policyWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(readers) {
						return
					}
					rd := a.read(context.Background(), readers[i], e.upns[i], entrasim.CanaryAppID, "", start.Add(-signInLookback))
					problems.Add(int64(len(rd.problems)))
				}
			}()
		}
		wg.Wait()
		virtual += e.clock.Now().Sub(start)
		cpu += processCPU() - cpu0
		after := e.sim.GraphStats()
		requests += after.Requests - before.Requests
		for k, v := range after.Throttled {
			throttled += v - before.Throttled[k]
			byBucket[k] += v - before.Throttled[k]
		}
		if p := problems.Load(); p > 0 {
			b.Fatalf("%d Graph reads failed in the pass", p)
		}
		passes++
	}
	bound := time.Duration(n) * time.Second / policyWorkers
	b.ReportMetric(virtual.Seconds()/float64(passes), "virtual-s")
	b.ReportMetric(float64(virtual)/float64(passes)/float64(bound), "x-bound")
	b.ReportMetric(float64(throttled)/float64(requests), "429-share")
	b.ReportMetric(float64(requests)/float64(passes*n), "requests/tenant")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(passes*n), "cpu-ms/tenant")
	for k, v := range byBucket {
		b.ReportMetric(float64(v)/float64(passes), "429s-"+k)
	}
}

// policyBenchEnv is n generated tenants, each enrolled through the real
// device code flow, and the agent's pooled clients.
type policyBenchEnv struct {
	sim     *entrasim.Server
	clock   *clock.Virtual
	prober  *probe.Prober
	graphHC *http.Client
	targets []probe.Target
	upns    []string
}

func newPolicyBenchEnv(b *testing.B, n int) *policyBenchEnv {
	b.Helper()
	v := clock.NewVirtual(entrasim.DefaultStart, policyBenchSpeed)
	sim, err := entrasim.New(entrasim.Options{Scenario: entrasim.GenerateScenario(n, 1), Clock: v,
		SigningKeyBits: 1024, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sim.Close() })
	block, _ := pem.Decode(sim.CACertPEM())
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := transport.NewTransport(transport.Options{ExtraRoots: []*x509.Certificate{ca}, MaxConcurrency: 32})
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(filepath.Join(b.TempDir(), "state.db"), store.Options{Key: bytes.Repeat([]byte{3}, 32),
		Clock: v, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	hc := &http.Client{Transport: tr}
	e := &policyBenchEnv{sim: sim, clock: v, graphHC: graph.NewHTTPClient(tr)}
	e.prober, err = probe.NewProber(probe.ProberOptions{Store: db, HTTP: hc, Clock: v, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range sim.Tenants() {
		upn := "svc-sync@" + t.Domain
		e.targets = append(e.targets, probe.Target{TenantID: t.ID, ServiceAccount: upn, ClientAppID: entrasim.CanaryAppID,
			ClientType: probe.ClientPublic, AuthorityHost: sim.BaseURL()})
		e.upns = append(e.upns, upn)
	}
	enr := &probe.Enroller{Store: db, HTTP: hc, Clock: v}
	var wg sync.WaitGroup
	var firstErr atomic.Value
	next := atomic.Int64{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(e.targets); i = int(next.Add(1)) - 1 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, err := enr.DeviceCode(ctx, e.targets[i], io.Discard)
				cancel()
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatalf("enroll: %v", err)
	}
	return e
}

// readers builds one Graph reader per tenant on the canary's token, as
// Agent.readerFor does.
func (e *policyBenchEnv) readers(b *testing.B) []*graph.Reader {
	b.Helper()
	out := make([]*graph.Reader, len(e.targets))
	for i, t := range e.targets {
		r, err := graph.NewReader(graph.Config{TenantID: t.TenantID, HTTPClient: e.graphHC, GraphURL: e.sim.BaseURL(), Clock: e.clock,
			Tokens: graph.TokenSourceFunc(func(ctx context.Context, scopes []string, claims string) (string, time.Time, error) {
				return e.prober.AccessToken(ctx, t, scopes, claims)
			})})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = r
	}
	return out
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReaderFootprint reports the live heap one tenant's Graph reader
// (msgraph-sdk-go client, request adapter, auth provider, budget) holds:
// the agent keeps one per enrolled tenant.
func BenchmarkReaderFootprint(b *testing.B) {
	const n = 1000
	hc := graph.NewHTTPClient(http.DefaultTransport)
	tokens := graph.TokenSourceFunc(func(context.Context, []string, string) (string, time.Time, error) {
		return "", time.Time{}, nil
	})
	for b.Loop() {
		before := liveHeap()
		readers := make([]*graph.Reader, n)
		for i := range readers {
			r, err := graph.NewReader(graph.Config{TenantID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", i),
				Tokens: tokens, HTTPClient: hc, GraphURL: "https://graph.microsoft.com"})
			if err != nil {
				b.Fatal(err)
			}
			readers[i] = r
		}
		after := liveHeap()
		b.ReportMetric(float64(after-before)/n/1024, "heap-KB/reader")
		runtime.KeepAlive(readers)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
