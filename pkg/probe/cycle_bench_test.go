package probe

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// cycleConcurrency is C, the scheduler's worker pool (its default).
const cycleConcurrency = 32

// BenchmarkProbeCycle measures one full probe cycle of every tenant: the
// real scheduler (timer heap, worker pool) driving the real Prober (MSAL,
// encrypted token caches, probe records in the bbolt file) against the
// in-process simulator, which answers every token request after 50 ms.
//
// Metrics:
//   - x-bound: wall time / (N × 50 ms / C), 1.0 is the network bound;
//   - cpu-ms/probe: the whole process (agent and simulator);
//   - sim-cpu-ms/probe: the simulator's handlers alone (thread CPU clock);
//   - agent-cpu-ms/probe: the difference (it still carries the server's
//     side of TLS and HTTP/2 framing, so it is an upper bound);
//   - allocs/probe: heap allocations of the process per probe;
//   - baseline-x: how many times longer the scripted baseline (one MSAL
//     client per tenant, one tenant after the other) takes for N tenants.
//
// Setup, not timed: the simulator generates N tenants; each is enrolled
// through the real device code flow (the generated tenants auto-approve)
// and probed once, so the MSAL clients exist as they do in a running agent.
func BenchmarkProbeCycle(b *testing.B) {
	for _, n := range []int{200, 1000, 10000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			if testing.Short() && n > 200 {
				b.Skip("-short: only the 200-tenant smoke run")
			}
			benchmarkProbeCycle(b, n)
		})
	}
}

func benchmarkProbeCycle(b *testing.B, n int) {
	env := newCycleEnv(b, n, cycleConcurrency)
	env.injectLatency()
	prober, err := NewProber(ProberOptions{Store: env.db, HTTP: env.hc, Clock: env.clock, Timeout: 30 * time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	specs := make([]Spec, len(env.targets))
	for i, t := range env.targets {
		specs[i] = Spec{Target: t}
	}
	env.runCycle(b, prober, specs) // warm-up: builds the MSAL clients

	var wall, cpu, simCPU time.Duration
	var allocs uint64
	var outcomes map[Outcome]int
	cycles := 0
	stopProfiles := profileCycle(b, n)
	for b.Loop() {
		cpu0, sim0, allocs0 := cpuTime(b), env.simCPU.Load(), mallocs()
		start := time.Now()
		outcomes = env.runCycle(b, prober, specs)
		wall += time.Since(start)
		cpu += cpuTime(b) - cpu0
		simCPU += time.Duration(env.simCPU.Load() - sim0)
		allocs += mallocs() - allocs0
		cycles++
	}
	stopProfiles()
	probes := float64(cycles * n)
	bound := time.Duration(n) * cycleLatency / cycleConcurrency
	b.ReportMetric(float64(wall)/float64(cycles)/float64(bound), "x-bound")
	b.ReportMetric(ms(cpu)/probes, "cpu-ms/probe")
	b.ReportMetric(ms(simCPU)/probes, "sim-cpu-ms/probe")
	b.ReportMetric(ms(cpu-simCPU)/probes, "agent-cpu-ms/probe")
	b.ReportMetric(float64(allocs)/probes, "allocs/probe")
	b.ReportMetric(float64(outcomes[OutcomeOK])/float64(n), "ok-share")

	// The baseline is linear by construction (one tenant after the other),
	// so a sample of up to 200 tenants is timed and scaled to N.
	sample := min(n, 200)
	if testing.Short() {
		sample = min(n, 40)
	}
	base := baselineLoop(b, env, env.targets[:sample])
	b.ReportMetric(float64(base)*float64(n)/float64(sample)/(float64(wall)/float64(cycles)), "baseline-x")
}

// profileCycle writes CPU and heap profiles of the timed cycles only
// (setup excluded) when TOKENHEALTH_BENCH_PROFILE names a directory:
// cycle-N.cpu and cycle-N.heap.
func profileCycle(b *testing.B, n int) (stop func()) {
	dir := os.Getenv("TOKENHEALTH_BENCH_PROFILE")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cycle-%d.cpu", n)))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		h, err := os.Create(filepath.Join(dir, fmt.Sprintf("cycle-%d.heap", n)))
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		runtime.GC()
		if err := pprof.WriteHeapProfile(h); err != nil {
			b.Fatal(err)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runCycle runs a fresh scheduler over specs until every tenant has been
// probed once, and returns the outcomes. The first probes are spread over
// one nanosecond: the whole cycle is due at once.
func (env *cycleEnv) runCycle(b *testing.B, prober *Prober, specs []Spec) map[Outcome]int {
	b.Helper()
	done := make(chan struct{})
	outcomes := map[Outcome]int{}
	var bad atomic.Value
	seen := 0
	s, err := NewScheduler(SchedulerOptions{Clock: env.clock, Probe: prober.Probe, MaxConcurrent: cycleConcurrency,
		StartSpread: time.Nanosecond, Seed: 1, Logger: slog.New(slog.DiscardHandler),
		OnUpdate: func(u Update) { // on the scheduler's goroutine
			outcomes[u.Result.Outcome]++
			if u.Result.NotEnrolled || u.Result.Local {
				bad.CompareAndSwap(nil, u.TenantID+": "+u.Result.Message)
			}
			if seen++; seen == len(specs) {
				close(done)
			}
		}})
	if err != nil {
		b.Fatal(err)
	}
	s.Set(specs)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("cycle of %d tenants did not finish in 10 minutes (%d probed)", len(specs), seen)
	}
	cancel()
	if err := <-ran; err != nil {
		b.Fatal(err)
	}
	if msg, _ := bad.Load().(string); msg != "" {
		b.Fatalf("probe did not reach the identity provider: %s", msg)
	}
	return outcomes
}

// baselineLoop is the same work done the way an administrator without the
// agent would script it: for each tenant in turn, one MSAL public client
// over a cache file, a silent acquisition with the access tokens dropped
// from the file so the refresh token is redeemed, and a line appended to a
// log file. It returns the wall time.
func baselineLoop(b *testing.B, env *cycleEnv, targets []Target) time.Duration {
	b.Helper()
	dir := filepath.Join(env.dir, "baseline")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	files := fileCaches{dir: dir}
	for _, t := range targets {
		blob, err := env.db.LoadTokenCache(strings.ToLower(t.TenantID))
		if err != nil {
			b.Fatal(err)
		}
		if err := files.SaveTokenCache(t.TenantID, blob); err != nil {
			b.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "results.log")
	start := time.Now()
	for _, t := range targets {
		status := "ok"
		if err := baselineRefresh(t, files, env); err != nil {
			status = "error"
		}
		f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(f, "%s %s %s\n", time.Now().UTC().Format(time.RFC3339), t.TenantID, status)
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

func baselineRefresh(t Target, files fileCaches, env *cycleEnv) error {
	app, err := public.New(t.ClientAppID, public.WithAuthority(t.Authority()), public.WithHTTPClient(env.hc),
		public.WithInstanceDiscovery(false), public.WithCache(&tenantCache{store: files, tenantID: t.TenantID}))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(withForcedRedemption(context.Background()), 30*time.Second)
	defer cancel()
	accts, err := app.Accounts(ctx)
	if err != nil || len(accts) == 0 {
		return fmt.Errorf("no account: %v", err)
	}
	_, err = app.AcquireTokenSilent(ctx, t.RequestScopes(), public.WithSilentAccount(accts[0]))
	return err
}

// fileCaches keeps one plain JSON cache file per tenant, as a script would.
type fileCaches struct{ dir string }

func (f fileCaches) path(tenantID string) string {
	return filepath.Join(f.dir, strings.ToLower(tenantID)+".json")
}

func (f fileCaches) LoadTokenCache(tenantID string) ([]byte, error) {
	blob, err := os.ReadFile(f.path(tenantID))
	if os.IsNotExist(err) {
		return nil, nil
	}
	return blob, err
}

func (f fileCaches) SaveTokenCache(tenantID string, blob []byte) error {
	return os.WriteFile(f.path(tenantID), blob, 0o600)
}

func (f fileCaches) DeleteTokenCache(tenantID string) error { return os.Remove(f.path(tenantID)) }
