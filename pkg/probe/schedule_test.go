package probe

import (
	"runtime"
	"testing"
	"time"
)

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
