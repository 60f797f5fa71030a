package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/internal/transport"
)

// countedSim serves the simulator from an httptest HTTP/2 TLS server that
// counts connections and TLS handshakes.
type countedSim struct {
	env        *simEnv
	conns      atomic.Int64
	handshakes atomic.Int64
	// handlerNanos is the wall time spent inside the simulator's handlers:
	// CPU-bound token signing, so with one request at a time it
	// approximates the simulator's share of the process CPU.
	handlerNanos atomic.Int64
}

func newCountedSim(tb testing.TB) *countedSim {
	tb.Helper()
	sc, err := entrasim.ParseScenario([]byte(simScenario))
	if err != nil {
		tb.Fatal(err)
	}
	v := clock.NewVirtual(simStart, 0)
	sim, err := entrasim.New(entrasim.Options{Scenario: sc, Clock: v})
	if err != nil {
		tb.Fatal(err)
	}
	cs := &countedSim{}
	simHandler := sim.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		simHandler.ServeHTTP(w, r)
		cs.handlerNanos.Add(int64(time.Since(start)))
	}))
	srv.EnableHTTP2 = true
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			cs.conns.Add(1)
		}
	}
	srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		cs.handshakes.Add(1)
		return nil, nil
	}}
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	hc, err := transport.New(transport.Options{ExtraRoots: []*x509.Certificate{srv.Certificate()}, MaxConcurrency: 8})
	if err != nil {
		tb.Fatal(err)
	}
	db, err := store.Open(filepath.Join(tb.TempDir(), "state.db"), store.Options{Key: bytes.Repeat([]byte{9}, 32), Clock: v,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	env := &simEnv{t: tb, clock: v, sim: sim, db: db, http: hc, host: srv.URL}
	env.prober, err = NewProber(ProberOptions{Store: db, HTTP: hc, Clock: v, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	cs.env = env
	return cs
}

// TestProbesShareOneConnection: 100 probes of two tenants, 4 at a time,
// through real MSAL clients, reuse one HTTP/2 connection: no TLS handshake
// per probe.
func TestProbesShareOneConnection(t *testing.T) {
	cs := newCountedSim(t)
	env := cs.env
	targets := []Target{env.target(simTenant, simUser), env.target(simTenantNoAuth, simUserNoAuth)}
	for _, tg := range targets {
		env.enrollDeviceCode(tg)
	}
	baseConns, baseHandshakes := cs.conns.Load(), cs.handshakes.Load()
	sem := make(chan struct{}, 4)
	errs := make(chan string, 100)
	for i := range 100 {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			if res := env.prober.Probe(context.Background(), targets[i%2]); res.Outcome != OutcomeOK {
				errs <- res.Message
			}
		}()
	}
	for range cap(sem) {
		sem <- struct{}{}
	}
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	// Enrollment warmed the pool; the probes add at most the one
	// connection a race between the first concurrent requests can open.
	if n := cs.conns.Load() - baseConns; n > 1 {
		t.Errorf("100 probes opened %d new connections", n)
	}
	if n := cs.handshakes.Load() - baseHandshakes; n > 1 {
		t.Errorf("100 probes made %d TLS handshakes", n)
	}
	if total := cs.handshakes.Load(); total != 1 {
		t.Errorf("%d TLS handshakes in total (enrollment of two tenants and 100 probes), want 1", total)
	}
}

// BenchmarkProbe measures one forced redemption end to end (MSAL, the
// encrypted cache, the probe record) against the in-process simulator.
// cpu-ms/probe is the whole process, simulator included (an upper bound for
// the agent); sim-ms/probe is the time spent inside the simulator's
// handlers, so the agent's own share is about the difference.
func BenchmarkProbe(b *testing.B) {
	cs := newCountedSim(b)
	env := cs.env
	tg := env.target(simTenant, simUser)
	env.enrollDeviceCode(tg)
	ctx := context.Background()
	if res := env.prober.Probe(ctx, tg); res.Outcome != OutcomeOK {
		b.Fatalf("warm-up probe: %s", res.Message)
	}
	b.ReportAllocs()
	before := cpuTime(b)
	simBefore := cs.handlerNanos.Load()
	n := 0
	for b.Loop() {
		if res := env.prober.Probe(ctx, tg); res.Outcome != OutcomeOK {
			b.Fatalf("probe: %s", res.Message)
		}
		n++
	}
	used := cpuTime(b) - before
	b.ReportMetric(float64(used.Microseconds())/1000/float64(n), "cpu-ms/probe")
	b.ReportMetric(float64(cs.handlerNanos.Load()-simBefore)/1e6/float64(n), "sim-ms/probe")
}

func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
