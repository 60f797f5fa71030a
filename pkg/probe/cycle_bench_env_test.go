package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/internal/transport"
)

// cycleLatency is the latency injected into every token request: a
// realistic round trip to login.microsoftonline.com plus its processing.
const cycleLatency = 50 * time.Millisecond

// cycleEnv is a generated tenant set served in-process, with every tenant
// enrolled through the real device code flow, and the agent's side (state
// file, pooled HTTP client) ready to probe it.
type cycleEnv struct {
	clock   *clock.Virtual
	sim     *entrasim.Server
	db      *store.DB
	hc      *http.Client
	dir     string
	targets []Target
	// simCPU is the CPU time (ns) the simulator's handlers used, measured
	// per OS thread, so the agent's own share is the process CPU minus it.
	simCPU atomic.Int64
}

// newCycleEnv generates n tenants, serves them over HTTP/2 TLS and enrolls
// each one with the device code flow (the generated tenants auto-approve),
// conc at a time. The simulator signs with RSA-1024 (Options.SigningKeyBits):
// it shares the two cores with the agent, and a 2048-bit signature costs
// three times as much CPU on the simulator's side without changing anything
// on the agent's.
func newCycleEnv(b *testing.B, n, conc int) *cycleEnv {
	b.Helper()
	v := clock.NewVirtual(entrasim.DefaultStart, 1)
	sim, err := entrasim.New(entrasim.Options{Scenario: entrasim.GenerateScenario(n, 1), Clock: v,
		SigningKeyBits: 1024, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sim.Close() })
	env := &cycleEnv{clock: v, sim: sim, dir: b.TempDir()}
	simHandler := sim.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Pinned to one OS thread, the thread's CPU clock counts this
		// handler alone; the injected latency is a sleep and costs none.
		runtime.LockOSThread()
		start := threadCPU()
		simHandler.ServeHTTP(w, r)
		env.simCPU.Add(int64(threadCPU() - start))
		runtime.UnlockOSThread()
	}))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{}
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	b.Cleanup(srv.Close)
	env.hc, err = transport.New(transport.Options{ExtraRoots: []*x509.Certificate{srv.Certificate()}, MaxConcurrency: conc})
	if err != nil {
		b.Fatal(err)
	}
	env.db, err = store.Open(filepath.Join(env.dir, "state.db"), store.Options{Key: bytes.Repeat([]byte{5}, 32),
		Clock: v, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { env.db.Close() })
	for _, t := range sim.Tenants() {
		env.targets = append(env.targets, Target{TenantID: t.ID, Name: t.ID, ServiceAccount: "svc-sync@" + t.Domain,
			ClientAppID: entrasim.CanaryAppID, ClientType: ClientPublic, AuthorityHost: srv.URL})
	}
	env.enrollAll(b, conc)
	return env
}

// enrollAll runs the real device code enrollment for every target.
func (env *cycleEnv) enrollAll(b *testing.B, conc int) {
	b.Helper()
	enr := &Enroller{Store: env.db, HTTP: env.hc, Clock: env.clock}
	var wg sync.WaitGroup
	var firstErr atomic.Value
	next := atomic.Int64{}
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(env.targets) {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, err := enr.DeviceCode(ctx, env.targets[i], io.Discard)
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
}

// injectLatency delays every token request by cycleLatency.
func (env *cycleEnv) injectLatency() {
	env.sim.Faults().Set(entrasim.ClassToken, entrasim.FaultSpec{Latency: cycleLatency, RetryAfter: -1})
}

// threadCPU is the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	const clockThreadCPUTimeID = 3 // CLOCK_THREAD_CPUTIME_ID (Linux)
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

// mallocs is the number of heap allocations the process has made.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}
