package probe

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

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
