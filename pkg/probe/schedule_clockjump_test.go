package probe

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// jumpTenants: 30 healthy tenants on a 15 min interval and 4 whose token
// fails (re-probed at the 1 h failing interval).
const (
	jumpHealthy = 30
	jumpFailing = 4
	jumpStep    = 10 * time.Second
)

// newJumpHarness spreads the first probes over startSpread, which is also
// the spread after a jump forward.
func newJumpHarness(t *testing.T, startSpread time.Duration) *harness {
	failing := map[string]bool{}
	for i := jumpHealthy; i < jumpHealthy+jumpFailing; i++ {
		failing[tenantID(i)] = true
	}
	return newHarness(t, SchedulerOptions{
		Interval: 15 * time.Minute, Jitter: 90 * time.Second, FailingInterval: time.Hour,
		BackoffInitial: time.Minute, BackoffMax: 15 * time.Minute,
		StartSpread: startSpread,
	}, jumpHealthy+jumpFailing, func(id string, _ time.Time) Outcome {
		if failing[id] {
			return OutcomeDefinitive
		}
		return OutcomeOK
	})
}

// callCounts is how many probes each tenant has had so far.
func (h *harness) callCounts() map[string]int {
	out := map[string]int{}
	for i := range jumpHealthy + jumpFailing {
		out[tenantID(i)] = len(h.f.callsOf(tenantID(i)))
	}
	return out
}

// probesSince is each tenant's probes after the first `before[id]` (the
// probes made after a jump, whatever the clock read before it).
func (h *harness) probesSince(before map[string]int) map[string][]time.Time {
	out := map[string][]time.Time{}
	for id, n := range before {
		out[id] = h.f.callsOf(id)[n:]
	}
	return out
}

func firstOf(probes map[string][]time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for id, cs := range probes {
		if len(cs) > 0 {
			out[id] = cs[0]
		}
	}
	return out
}

// busiest is the largest number of probes in one window-long slot from at.
func busiest(firsts map[string]time.Time, at time.Time, window time.Duration) (int, time.Duration) {
	per := map[time.Duration]int{}
	for _, c := range firsts {
		per[c.Sub(at)/window*window]++
	}
	n, slot := 0, time.Duration(0)
	for s, k := range per {
		if k > n {
			n, slot = k, s
		}
	}
	return n, slot
}

// TestSchedulerClockSetBack sets a running schedule's clock back and checks
// that every tenant is probed again within its interval plus jitter of the
// new reading (15m+90s healthy, 1h+90s failing), spread as before the jump.
// Before the fix the scheduler slept the whole jump (its one-minute timer
// was a deadline on the old reading) and, after a short jump, left probes
// planned up to interval+BackoffMax ahead.
func TestSchedulerClockSetBack(t *testing.T) {
	for _, jump := range []time.Duration{3 * time.Hour, 20 * time.Minute, 5 * time.Minute} {
		t.Run("back "+jump.String(), func(t *testing.T) {
			h := newJumpHarness(t, 15*time.Minute) // spread as in a long-running agent
			h.advance(70*time.Minute, jumpStep)    // past the first failing re-probe: schedules are spread
			before := h.callCounts()
			at := h.v.Advance(-jump)
			h.settle()
			h.advance(62*time.Minute, jumpStep)
			after := h.probesSince(before)
			firsts := firstOf(after)
			var late []string
			for i := range jumpHealthy + jumpFailing {
				id := tenantID(i)
				limit := 15*time.Minute + 90*time.Second
				if i >= jumpHealthy {
					limit = time.Hour + 90*time.Second
				}
				got, ok := firsts[id]
				if !ok || got.Sub(at) > limit+jumpStep {
					late = append(late, fmt.Sprintf("tenant %d: %s (limit %s)", i, orNever(got, ok, at), limit))
				}
			}
			if len(late) > 0 {
				t.Errorf("after the clock was set back %s, %d tenants were not probed within their interval:\n%s",
					jump, len(late), strings.Join(late, "\n"))
			}
			var last time.Duration
			for _, c := range firsts {
				last = max(last, c.Sub(at))
			}
			n, slot := busiest(firsts, at, time.Minute)
			t.Logf("set back %s: last tenant probed +%s after the jump; at most %d first probes in one minute", jump, last, n)
			if n > 12 {
				t.Errorf("%d first probes in the minute from +%s after the jump: a burst (34 tenants, 30 of them over 15 min)", n, slot)
			}
			// The failing tenants' interval is kept: not re-probed early.
			for i := jumpHealthy; i < jumpHealthy+jumpFailing; i++ {
				if n := len(after[tenantID(i)]); n > 2 {
					t.Errorf("failing tenant %d probed %d times in the 62 min after the jump, want at most 2", i, n)
				}
			}
		})
	}
}

// TestSchedulerClockJumpsForward jumps a settled schedule forward by 3 h:
// every tenant is overdue; each is probed within the start spread, not all
// in the instant of the jump.
func TestSchedulerClockJumpsForward(t *testing.T) {
	h := newJumpHarness(t, time.Minute)
	h.advance(70*time.Minute, jumpStep)
	before := h.callCounts()
	at := h.v.Advance(3 * time.Hour)
	h.settle()
	h.advance(2*time.Minute, time.Second)
	firsts := firstOf(h.probesSince(before))
	var offsets []time.Duration
	for i := range jumpHealthy + jumpFailing {
		got, ok := firsts[tenantID(i)]
		if !ok || got.Sub(at) > time.Minute+time.Second {
			t.Errorf("tenant %d overdue after the jump was probed %s, want within the 1 min spread", i, orNever(got, ok, at))
		}
		offsets = append(offsets, got.Sub(at))
	}
	sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
	n, slot := busiest(firsts, at, time.Second)
	t.Logf("jumped forward 3h: overdue tenants probed from +%s to +%s after the jump; at most %d in one second", offsets[0], offsets[len(offsets)-1], n)
	if n > 10 {
		t.Errorf("%d of %d overdue tenants probed in the second from +%s: a burst, want them spread over a minute (offsets %v)",
			n, len(firsts), slot, offsets)
	}
}

func orNever(got time.Time, ok bool, from time.Time) string {
	if !ok {
		return "never"
	}
	return "+" + got.Sub(from).String()
}
