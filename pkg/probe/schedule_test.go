package probe

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

var schedStart = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// fakeProbes decides each attempt's outcome and records every call.
type fakeProbes struct {
	mu         sync.Mutex
	decide     func(tenant string, at time.Time) Outcome
	calls      map[string][]time.Time
	order      []time.Time
	running    int
	maxRunning int
	hold       time.Duration // real time each probe takes
}

func (f *fakeProbes) probe(clk clock.Clock) func(context.Context, Target) Result {
	return func(ctx context.Context, t Target) Result {
		now := clk.Now()
		f.mu.Lock()
		f.running++
		f.maxRunning = max(f.maxRunning, f.running)
		f.calls[t.TenantID] = append(f.calls[t.TenantID], now)
		f.order = append(f.order, now)
		out := f.decide(t.TenantID, now)
		f.mu.Unlock()
		if f.hold > 0 {
			time.Sleep(f.hold)
		}
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
		return Result{TenantID: t.TenantID, Time: now, Outcome: out}
	}
}

func (f *fakeProbes) callsOf(id string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls[id]...)
}

type harness struct {
	t       *testing.T
	v       *clock.Virtual
	s       *Scheduler
	f       *fakeProbes
	cancel  context.CancelFunc
	done    chan error
	mu      sync.Mutex
	updates []Update
	idp     []IdPStatus
}

func tenantID(i int) string { return fmt.Sprintf("00000000-0000-0000-0000-%012d", i) }

func newHarness(t *testing.T, opts SchedulerOptions, tenants int, decide func(string, time.Time) Outcome) *harness {
	t.Helper()
	h := &harness{t: t, v: clock.NewVirtual(schedStart, 0), f: &fakeProbes{decide: decide, calls: map[string][]time.Time{}}}
	opts.Clock = h.v
	opts.Probe = h.f.probe(h.v)
	opts.Seed = 42
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.OnUpdate = func(u Update) { h.mu.Lock(); h.updates = append(h.updates, u); h.mu.Unlock() }
	opts.OnIdP = func(st IdPStatus) { h.mu.Lock(); h.idp = append(h.idp, st); h.mu.Unlock() }
	s, err := NewScheduler(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	h.s.Set(specs(0, tenants))
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		h.v.Advance(time.Hour) // release the shutdown grace timer
		<-h.done
	})
	h.settle()
	return h
}

func specs(from, to int) []Spec {
	out := make([]Spec, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, Spec{Target: Target{TenantID: tenantID(i)}})
	}
	return out
}

// settle waits (in real time) until the scheduler loop is idle.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !h.s.settled() {
		if time.Now().After(deadline) {
			h.t.Fatal("scheduler did not settle")
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// advance moves virtual time forward in steps, letting the loop settle
// after each.
func (h *harness) advance(total, step time.Duration) {
	h.t.Helper()
	for elapsed := time.Duration(0); elapsed < total; elapsed += step {
		h.v.Advance(step)
		h.settle()
	}
}

func (h *harness) statesOf(id string) []State {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []State
	for _, u := range h.updates {
		if u.TenantID == id {
			out = append(out, u.State)
		}
	}
	return out
}

func gaps(ts []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(ts); i++ {
		out = append(out, ts[i].Sub(ts[i-1]))
	}
	return out
}

func always(o Outcome) func(string, time.Time) Outcome {
	return func(string, time.Time) Outcome { return o }
}

func TestSchedulerJitterStaysWithinBounds(t *testing.T) {
	const step = 10 * time.Second
	h := newHarness(t, SchedulerOptions{Interval: 10 * time.Minute, Jitter: 2 * time.Minute}, 1, always(OutcomeOK))
	h.advance(12*time.Hour, step)
	g := gaps(h.f.callsOf(tenantID(0)))
	if len(g) < 55 {
		t.Fatalf("only %d intervals in 12 h at a 10 min interval", len(g))
	}
	distinct := map[time.Duration]bool{}
	for i, d := range g {
		if d < 8*time.Minute || d > 12*time.Minute+step {
			t.Errorf("interval %d = %s, want within 10m ± 2m", i, d)
		}
		distinct[d] = true
	}
	if len(distinct) < 10 {
		t.Errorf("only %d distinct intervals: jitter is not applied", len(distinct))
	}
}

func TestSchedulerBackoffGrowsAndCaps(t *testing.T) {
	const step = 5 * time.Second
	h := newHarness(t, SchedulerOptions{
		Interval: time.Hour, BackoffInitial: time.Minute, BackoffMax: 8 * time.Minute,
		UnreachableAfterFailures: 1000,
	}, 1, always(OutcomeTransient))
	h.advance(70*time.Minute, step)
	g := gaps(h.f.callsOf(tenantID(0)))
	want := []time.Duration{1, 2, 4, 8, 8, 8, 8}
	if len(g) < len(want) {
		t.Fatalf("got %d retries (%v), want at least %d", len(g), g, len(want))
	}
	for i, w := range want {
		b := w * time.Minute
		if g[i] < b/2 || g[i] > b+step {
			t.Errorf("retry %d after %s, want within [%s, %s] (equal jitter of %s)", i+1, g[i], b/2, b, b)
		}
	}
}

func TestSchedulerDebounceNeedsCountAndDuration(t *testing.T) {
	const step = 5 * time.Second
	var failFrom time.Time
	var recoverAt time.Time
	decide := func(_ string, at time.Time) Outcome {
		switch {
		case failFrom.IsZero() || at.Before(failFrom):
			return OutcomeOK
		case !recoverAt.IsZero() && !at.Before(recoverAt):
			return OutcomeOK
		}
		return OutcomeTransient
	}
	h := newHarness(t, SchedulerOptions{
		Interval: 10 * time.Minute, BackoffInitial: time.Minute, BackoffMax: 4 * time.Minute,
		UnreachableAfterFailures: 3, UnreachableAfter: 20 * time.Minute,
	}, 1, decide)
	h.advance(2*time.Minute, step) // first probe: healthy
	failFrom = h.v.Now()
	h.advance(45*time.Minute, step)
	recoverAt = h.v.Now()
	h.advance(10*time.Minute, step)

	calls := h.f.callsOf(tenantID(0))
	states := h.statesOf(tenantID(0))
	if len(states) != len(calls) {
		t.Fatalf("%d updates for %d calls", len(states), len(calls))
	}
	var first time.Time
	n := 0
	for i, at := range calls {
		fail := !at.Before(failFrom) && at.Before(recoverAt)
		want := StateHealthy
		if fail {
			if n == 0 {
				first = at
			}
			n++
			if n >= 3 && at.Sub(first) >= 20*time.Minute {
				want = StateUnreachable
			}
		}
		if i > 0 && states[i-1] == StateUnreachable && fail {
			want = StateUnreachable
		}
		if states[i] != want {
			t.Errorf("attempt %d at +%s (failure %d, %s into the run): state %s, want %s",
				i, at.Sub(schedStart), n, at.Sub(first), states[i], want)
		}
	}
	if states[len(states)-1] != StateHealthy {
		t.Errorf("after recovery: %s, want healthy", states[len(states)-1])
	}
	if !contains(states, StateUnreachable) {
		t.Error("never became unreachable")
	}
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func TestSchedulerDefinitiveFailsAtOnceAndReenrollResets(t *testing.T) {
	out := OutcomeDefinitive
	h := newHarness(t, SchedulerOptions{Interval: 10 * time.Minute, Jitter: time.Minute, FailingInterval: time.Hour,
		UnreachableAfterFailures: 3}, 1, func(string, time.Time) Outcome { return out })
	h.advance(2*time.Minute, 5*time.Second)
	if st := h.statesOf(tenantID(0)); len(st) != 1 || st[0] != StateFailing {
		t.Fatalf("states after one definitive failure: %v, want [failing]", st)
	}
	// A failing tenant is re-probed at the failing interval, not every 10 min.
	h.advance(3*time.Hour, 30*time.Second)
	for i, g := range gaps(h.f.callsOf(tenantID(0))) {
		if g < 59*time.Minute || g > 61*time.Minute+30*time.Second {
			t.Errorf("gap %d between probes of a failing tenant: %s, want about 1h", i, g)
		}
	}
	calls := len(h.f.callsOf(tenantID(0)))
	out = OutcomeOK
	if !h.s.Reenrolled(tenantID(0)) {
		t.Fatal("Reenrolled: unknown tenant")
	}
	h.settle()
	st := h.statesOf(tenantID(0))
	if len(st) != calls+1 || st[calls] != StateHealthy {
		t.Fatalf("states after re-enrollment: %v, want failing then healthy with no wait", st)
	}
	if h.s.Reenrolled("11111111-1111-1111-1111-111111111111") {
		t.Error("Reenrolled reported an unknown tenant as known")
	}
}

func TestSchedulerRestoresInitialState(t *testing.T) {
	h := newHarness(t, SchedulerOptions{Interval: 10 * time.Minute, StartSpread: time.Minute}, 0, always(OutcomeOK))
	h.s.Set([]Spec{{Target: Target{TenantID: tenantID(0)}, Initial: StateFailing}})
	h.settle()
	if st := h.s.Status(); len(st) != 1 || st[0].State != StateFailing {
		t.Fatalf("status before the first probe: %+v, want failing", st)
	}
	h.advance(2*time.Minute, 5*time.Second)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.updates) != 1 || h.updates[0].Previous != StateFailing || h.updates[0].State != StateHealthy {
		t.Fatalf("updates %+v, want one failing -> healthy", h.updates)
	}
}

func TestSchedulerBoundsConcurrency(t *testing.T) {
	h := newHarness(t, SchedulerOptions{Interval: time.Hour, MaxConcurrent: 4, StartSpread: time.Second}, 0, always(OutcomeOK))
	h.f.hold = 3 * time.Millisecond
	h.s.Set(specs(0, 40))
	h.advance(2*time.Second, time.Second)
	for i := range 40 {
		if n := len(h.f.callsOf(tenantID(i))); n != 1 {
			t.Errorf("tenant %d probed %d times, want 1", i, n)
		}
	}
	if h.f.maxRunning != 4 {
		t.Errorf("max probes in flight = %d, want exactly the limit 4", h.f.maxRunning)
	}
}

func TestSchedulerIdPOutageIsOneConditionWithoutBurst(t *testing.T) {
	const (
		tenants = 30
		step    = 5 * time.Second
	)
	var down bool
	decide := func(string, time.Time) Outcome {
		if down {
			return OutcomeTransient
		}
		return OutcomeOK
	}
	h := newHarness(t, SchedulerOptions{
		Interval: 10 * time.Minute, Jitter: time.Minute, BackoffInitial: time.Minute, BackoffMax: 10 * time.Minute,
		UnreachableAfterFailures: 2, UnreachableAfter: time.Minute, MaxConcurrent: 8,
		IdPWindow: 5 * time.Minute, IdPMinTenants: 3, IdPFraction: 0.5,
	}, tenants, decide)
	h.advance(15*time.Minute, step) // all healthy
	down = true
	h.advance(60*time.Minute, step)
	if !h.s.IdP().Unreachable {
		t.Fatal("global condition not raised while every tenant fails transiently")
	}
	recovered := h.v.Now()
	down = false
	h.advance(30*time.Minute, step)

	h.mu.Lock()
	idp := append([]IdPStatus(nil), h.idp...)
	updates := append([]Update(nil), h.updates...)
	h.mu.Unlock()
	if len(idp) != 2 || !idp[0].Unreachable || idp[1].Unreachable {
		t.Fatalf("global condition changes = %+v, want exactly [unreachable, reachable]", idp)
	}
	for _, u := range updates {
		if u.State == StateUnreachable {
			t.Fatalf("tenant %s marked unreachable during a global outage", u.TenantID)
		}
	}
	// No burst after recovery: count probes per minute.
	perMinute := map[int64]int{}
	for _, at := range h.f.order {
		if at.After(recovered) {
			perMinute[int64(at.Sub(recovered)/time.Minute)]++
		}
	}
	for m, n := range perMinute {
		if n > 10 {
			t.Errorf("%d probes in minute %d after recovery: a burst (30 tenants over a 10 min interval)", n, m)
		}
	}
}

func TestSchedulerOutageProbesOnlyAFew(t *testing.T) {
	var down bool
	h := newHarness(t, SchedulerOptions{
		Interval: 10 * time.Minute, MaxConcurrent: 16, IdPMinTenants: 3, StartSpread: time.Second,
	}, 50, func(string, time.Time) Outcome {
		if down {
			return OutcomeTransient
		}
		return OutcomeOK
	})
	h.f.hold = time.Millisecond
	h.advance(12*time.Minute, 5*time.Second)
	down = true
	h.advance(20*time.Minute, 5*time.Second)
	h.f.mu.Lock()
	h.f.maxRunning = 0
	h.f.mu.Unlock()
	h.advance(20*time.Minute, 5*time.Second)
	if !h.s.IdP().Unreachable {
		t.Fatal("outage not detected")
	}
	if h.f.maxRunning > 3 {
		t.Errorf("%d probes in flight during the outage, want at most 3", h.f.maxRunning)
	}
}

func TestSchedulerConfigReload(t *testing.T) {
	h := newHarness(t, SchedulerOptions{Interval: 10 * time.Minute, StartSpread: time.Second}, 2, always(OutcomeOK))
	h.advance(time.Minute, 5*time.Second)
	h.s.Set(specs(1, 3)) // drop tenant 0, keep 1, add 2
	h.advance(30*time.Minute, 5*time.Second)
	if n := len(h.f.callsOf(tenantID(0))); n != 1 {
		t.Errorf("removed tenant probed %d times, want only the one before removal", n)
	}
	if n := len(h.f.callsOf(tenantID(2))); n < 3 {
		t.Errorf("added tenant probed %d times in 30 min, want at least 3", n)
	}
	// Shortening tenant 1's interval from 10 to 2 minutes applies at once.
	before := len(h.f.callsOf(tenantID(1)))
	h.s.Set([]Spec{{Target: Target{TenantID: tenantID(1)}, Interval: 2 * time.Minute}, {Target: Target{TenantID: tenantID(2)}}})
	h.advance(10*time.Minute, 5*time.Second)
	if n := len(h.f.callsOf(tenantID(1))) - before; n < 4 {
		t.Errorf("%d probes in 10 min after the interval became 2 min", n)
	}
	st := h.s.Status()
	if len(st) != 2 || st[0].TenantID != tenantID(1) || st[1].TenantID != tenantID(2) {
		t.Errorf("status lists %+v, want tenants 1 and 2", st)
	}
}

// TestSchedulerScalesWithoutPerTenantTimers: 10,000 tenants cost heap
// slots, not goroutines.
func TestSchedulerScalesWithoutPerTenantTimers(t *testing.T) {
	h := newHarness(t, SchedulerOptions{Interval: 15 * time.Minute, MaxConcurrent: 32, StartSpread: time.Minute}, 0, always(OutcomeOK))
	before := runtime.NumGoroutine()
	h.s.Set(specs(0, 10000))
	h.settle()
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Errorf("goroutines %d -> %d after adding 10,000 tenants", before, after)
	}
	h.advance(2*time.Minute, 2*time.Second)
	probed := 0
	for i := range 10000 {
		if len(h.f.callsOf(tenantID(i))) > 0 {
			probed++
		}
	}
	if probed != 10000 {
		t.Errorf("%d of 10,000 tenants probed within the start spread", probed)
	}
}

func TestSchedulerShutdown(t *testing.T) {
	tests := []struct {
		name        string
		finishAfter time.Duration // virtual time a probe needs; 0 = until cancelled
		wantUpdates int
	}{
		{"in-flight probes finish within the grace", time.Second, 3},
		{"probes outliving the grace are abandoned", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := clock.NewVirtual(schedStart, 0)
			started := make(chan struct{}, 3)
			var mu sync.Mutex
			var updates []Update
			s, err := NewScheduler(SchedulerOptions{
				Clock: v, MaxConcurrent: 3, StartSpread: time.Nanosecond, ShutdownGrace: 10 * time.Second,
				Probe: func(ctx context.Context, tg Target) Result {
					started <- struct{}{}
					var wait <-chan time.Time
					if tt.finishAfter > 0 {
						wait = v.After(tt.finishAfter)
					}
					select {
					case <-wait:
						return Result{TenantID: tg.TenantID, Outcome: OutcomeOK}
					case <-ctx.Done():
						return Result{TenantID: tg.TenantID, Outcome: OutcomeTransient, Abandoned: true}
					}
				},
				OnUpdate: func(u Update) { mu.Lock(); updates = append(updates, u); mu.Unlock() },
			})
			if err != nil {
				t.Fatal(err)
			}
			s.Set(specs(0, 3))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			for range 3 {
				v.Advance(time.Millisecond)
				<-started
			}
			cancel()
			time.Sleep(10 * time.Millisecond) // let Run enter shutdown and arm the grace timer
			v.Advance(5 * time.Second)
			v.Advance(6 * time.Second)
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after the shutdown grace")
			}
			mu.Lock()
			defer mu.Unlock()
			if len(updates) != tt.wantUpdates {
				t.Errorf("%d results recorded, want %d", len(updates), tt.wantUpdates)
			}
		})
	}
}

func TestSchedulerShutdownReportsStuckProbes(t *testing.T) {
	v := clock.NewVirtual(schedStart, 0)
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{}, 1)
	s, err := NewScheduler(SchedulerOptions{
		Clock: v, MaxConcurrent: 1, StartSpread: time.Nanosecond, ShutdownGrace: 20 * time.Millisecond,
		Probe: func(context.Context, Target) Result { started <- struct{}{}; <-release; return Result{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Set(specs(0, 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	v.Advance(time.Millisecond)
	<-started
	cancel()
	time.Sleep(10 * time.Millisecond)
	v.Advance(time.Second)
	select {
	case err := <-done:
		if err == nil || err.Error() != "1 probe(s) ignored cancellation and were left running" {
			t.Fatalf("Run = %v, want the stuck-probe error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run hung on a probe that ignores cancellation")
	}
}
