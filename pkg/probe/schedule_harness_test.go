package probe

import (
	"context"
	"fmt"
	"log/slog"
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

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
