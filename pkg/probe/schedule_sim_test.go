package probe

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
)

// TestSchedulerWithSimulator runs the scheduler with the real prober
// against the simulator: two tenants turn healthy, an identity-provider
// outage becomes one global condition (never a tenant verdict), and both
// tenants are healthy again after it.
func TestSchedulerWithSimulator(t *testing.T) {
	env := newSimEnv(t, false)
	targets := []Target{env.target(simTenant, simUser), env.target(simTenantNoAuth, simUserNoAuth)}
	for _, tg := range targets {
		env.enrollDeviceCode(tg)
	}
	env.prober.opts.Timeout = 2 * time.Second
	var mu sync.Mutex
	var updates []Update
	var idp []IdPStatus
	s, err := NewScheduler(SchedulerOptions{
		Clock: env.clock, Probe: env.prober.Probe, Seed: 7, Logger: slog.New(slog.DiscardHandler),
		Interval: 10 * time.Minute, MaxConcurrent: 4, StartSpread: time.Second,
		BackoffInitial: time.Minute, BackoffMax: 5 * time.Minute,
		UnreachableAfterFailures: 2, UnreachableAfter: 2 * time.Minute,
		IdPMinTenants: 2, IdPWindow: 5 * time.Minute,
		OnUpdate: func(u Update) { mu.Lock(); updates = append(updates, u); mu.Unlock() },
		OnIdP:    func(st IdPStatus) { mu.Lock(); idp = append(idp, st); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Set([]Spec{{Target: targets[0]}, {Target: targets[1]}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	h := &harness{t: t, v: env.clock, s: s}
	h.settle()

	h.advance(12*time.Minute, 30*time.Second)
	for _, st := range s.Status() {
		if st.State != StateHealthy {
			t.Fatalf("tenant %s is %s after its first probes: %s", st.TenantID, st.State, st.Last.Message)
		}
	}

	env.sim.Faults().Set(entrasim.ClassToken, entrasim.FaultSpec{OutageUntil: env.clock.Now().Add(40 * time.Minute)})
	h.advance(40*time.Minute, 30*time.Second)
	if !s.IdP().Unreachable {
		t.Fatalf("identity provider outage not detected: %+v", s.IdP())
	}
	env.sim.Faults().Clear(entrasim.ClassToken)
	h.advance(30*time.Minute, 30*time.Second)

	cancel()
	env.clock.Advance(time.Minute)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(idp) != 2 || !idp[0].Unreachable || idp[1].Unreachable {
		t.Errorf("global condition changes %+v, want [unreachable, reachable]", idp)
	}
	for _, u := range updates {
		if u.State == StateFailing || u.State == StateUnreachable {
			t.Errorf("tenant %s became %s during an identity-provider outage (%s)", u.TenantID, u.State, u.Result.Message)
		}
	}
	for _, st := range s.Status() {
		if st.State != StateHealthy {
			t.Errorf("tenant %s is %s after the outage ended", st.TenantID, st.State)
		}
	}
}
