package probe

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

// BenchmarkSchedulerBookkeeping measures the scheduler's own cost per probe
// with 10,000 tenants: taking the earliest tenant off the heap, applying
// its result (state, IdP window, backoff) and queueing it again.
func BenchmarkSchedulerBookkeeping(b *testing.B) {
	v := clock.NewVirtual(schedStart, 0)
	s, err := NewScheduler(SchedulerOptions{Clock: v, Seed: 1, Logger: slog.New(slog.DiscardHandler),
		Probe: func(context.Context, Target) Result { return Result{} }})
	if err != nil {
		b.Fatal(err)
	}
	s.Set(specs(0, 10000))
	outcomes := []Outcome{OutcomeOK, OutcomeOK, OutcomeOK, OutcomeTransient, OutcomeDefinitive}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		s.mu.Lock()
		e := s.heap[0]
		s.heap.remove(e)
		e.inFlight = true
		s.inFlight++
		s.mu.Unlock()
		v.Advance(90 * time.Millisecond) // 10,000 tenants every 15 minutes
		s.handle(jobResult{e: e, r: Result{Time: v.Now(), Outcome: outcomes[i%len(outcomes)]}})
		i++
	}
}
