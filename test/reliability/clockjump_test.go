package reliability

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

const mixSignInFrequency = 1 // sign-in frequency of 1-14 days: a predicted break

// Schedule bounds of the configuration defaults the world runs with:
// probe_interval 15m and failing_interval 1h, each with 10% jitter. The
// slack covers the real time a loaded machine takes to start a probe
// (at 600x, 0.1 real s is a virtual minute); before the fix the last
// tenant came 3h54m-4h3m after a jump back.
const (
	healthyLimit = 15*time.Minute + 90*time.Second
	failingLimit = time.Hour + 6*time.Minute
	startSlack   = 10 * time.Minute
	forwardLimit = time.Minute // overdue probes are spread over StartSpread
)

// TestClockJumps moves the shared clock three hours forward, then three
// hours back. Every tenant must be probed again within its interval of the
// jump, measured on the new reading (no schedule stuck in the future), and
// the sign-in frequency predictions, which depend on when the token was
// issued and not on the clock's reading, must not move, also after a policy
// pass run on the new reading.
func TestClockJumps(t *testing.T) {
	sc, mixOf := scenarioOf(36, mixHealthy, mixSignInFrequency)
	w := newWorld(t, worldOptions{Scenario: sc, MixOf: mixOf})
	w.run(600)
	api := localapi.NewClient(w.cfg.Global.Socket)
	var before map[string]time.Time
	w.eventually("every sign-in frequency tenant has its sign-in frequency prediction", 60*time.Second, func() bool {
		before = map[string]time.Time{}
		st := w.statuses()
		for id, m := range w.mixOf {
			ts, ok := st[id]
			if !ok {
				return false
			}
			if m != mixSignInFrequency || ts.State == health.StateFailing {
				continue
			}
			sif := sifPrediction(ts)
			if sif.IsZero() || !ts.PredictedBreak.Equal(sif) {
				return false
			}
			before[id] = ts.PredictedBreak
		}
		return true
	})
	if len(before) == 0 {
		t.Fatal("no healthy sign-in frequency tenant in the scenario")
	}

	states := w.states()
	for _, jump := range []time.Duration{3 * time.Hour, -3 * time.Hour} {
		seen := w.probeTimes(api)
		readAt := w.policiesReadAt(api)
		at := w.sim.Advance(jump)

		// Every tenant is probed again: the first attempt the agent did
		// not have before the jump, by the agent's clock.
		var first map[string]time.Time
		w.eventually("every tenant probed after a jump of "+jump.String(), 90*time.Second, func() bool {
			first = w.firstProbesSince(api, seen, at)
			return len(first) == len(w.mixOf)
		})
		var offsets []time.Duration
		var slowest time.Duration
		for id, p := range first {
			took := p.Sub(at)
			offsets = append(offsets, took)
			limit := healthyLimit
			if states[id] == health.StateFailing {
				limit = failingLimit
			}
			if jump > 0 {
				limit = forwardLimit // everything is overdue
			}
			if took > limit+startSlack {
				t.Errorf("after a jump of %s tenant %s (%s) was probed %s later, want within %s (+%s slack)",
					jump, id, states[id], took.Round(time.Second), limit, startSlack)
			}
			if states[id] != health.StateFailing {
				slowest = max(slowest, took)
			}
		}
		sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
		t.Logf("jump %s: first probes %s after it (healthy tenants by +%s, all by +%s)", jump, roundAll(offsets),
			slowest.Round(time.Second), offsets[len(offsets)-1].Round(time.Second))

		for id, st := range w.states() {
			if st != states[id] {
				t.Errorf("after a jump of %s tenant %s (mix %d) is %s, was %s", jump, id, w.mixOf[id], st, states[id])
			}
		}

		// A policy pass on the new reading (after a jump back it comes
		// once the passes planned before it are due) must predict the
		// same breaks: they come from the token's issue time. A third of
		// the Graph requests are refused with 401 meanwhile, as happens when
		// the cached access token was issued on the other side of the
		// jump: a pass that reads the policies but not the memberships or
		// the password policy must not move a prediction (it did: from
		// the sign-in frequency date to an invented password expiry).
		w.sim.Faults().Set(entrasim.ClassGraph, entrasim.FaultSpec{ErrorRate: 0.3, ErrorStatus: http.StatusUnauthorized})
		w.eventually("a policy pass of every sign-in frequency tenant after a jump of "+jump.String(), 150*time.Second, func() bool {
			now := w.policiesReadAt(api)
			for id := range before {
				if now[id].IsZero() || now[id].Equal(readAt[id]) {
					return false
				}
			}
			return true
		})
		w.sim.Faults().Set(entrasim.ClassGraph, entrasim.FaultSpec{})
		after := w.statuses()
		for id, p := range before {
			if got := after[id].PredictedBreak; !got.Equal(p) {
				t.Errorf("after a jump of %s and a policy pass, tenant %s (mix %d) predicts %s, was %s (policy problems: %s)",
					jump, id, w.mixOf[id], got, p, strings.Join(w.policyProblems(api, id), "; "))
			}
		}
		t.Logf("jump %s: %d sign-in frequency predictions unchanged after a policy pass %s after the jump", jump, len(before),
			latestAfter(w.policiesReadAt(api), before, at).Round(time.Minute))
	}
}

// sifPrediction is the tenant's sign-in frequency predicted break (zero
// when it has none).
func sifPrediction(ts health.TenantStatus) time.Time {
	for _, f := range ts.Findings {
		if f.Kind == health.KindPredictedBreak && f.Cause == "ca_sign_in_frequency" {
			return f.PredictedAt
		}
	}
	return time.Time{}
}

// probeTimes is every recorded probe attempt per tenant, by the agent's
// clock (its reading when the attempt started).
func (w *world) probeTimes(api *localapi.Client) map[string]map[time.Time]bool {
	out := map[string]map[time.Time]bool{}
	for id := range w.mixOf {
		out[id] = map[time.Time]bool{}
		h, err := api.History(context.Background(), id, 10000)
		if err != nil {
			w.t.Fatalf("history of %s: %v", id, err)
		}
		for _, p := range h.Probes {
			out[id][p.Time] = true
		}
	}
	return out
}

// firstProbesSince is, per tenant, the earliest attempt not in seen, at
// being the reading right after a jump. After a jump back the new attempts
// are older by the clock than those before it, so "new" is "not seen", not
// "later". An attempt in flight across the jump was recorded after seen was
// taken with a reading from before the jump: after a jump forward it
// counts as a probe at the jump (its result is the tenant's state after
// it); after a jump back it is left out (by its reading it lies past the
// two hours after at) and the next attempt counts.
func (w *world) firstProbesSince(api *localapi.Client, seen map[string]map[time.Time]bool, at time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for id := range w.mixOf {
		h, err := api.History(context.Background(), id, 10000)
		if err != nil {
			continue
		}
		for _, p := range h.Probes {
			if seen[id][p.Time] || !p.Time.Before(at.Add(2*time.Hour)) {
				continue
			}
			if p.Time.Before(at) {
				p.Time = at // in flight across a jump forward
			}
			if f, ok := out[id]; !ok || p.Time.Before(f) {
				out[id] = p.Time
			}
		}
	}
	return out
}

// policiesReadAt is when each tenant's latest policy pass read Graph.
func (w *world) policiesReadAt(api *localapi.Client) map[string]time.Time {
	out := map[string]time.Time{}
	for id := range w.mixOf {
		if ex, err := api.Explain(context.Background(), id); err == nil {
			out[id] = ex.PoliciesAt
		}
	}
	return out
}

func (w *world) policyProblems(api *localapi.Client, id string) []string {
	p, err := api.Policies(context.Background(), id)
	if err != nil {
		return []string{err.Error()}
	}
	return p.Problems
}

// latestAfter is how long after at the last of the tenants' passes ran.
func latestAfter(readAt map[string]time.Time, ids map[string]time.Time, at time.Time) time.Duration {
	var d time.Duration
	for id := range ids {
		d = max(d, readAt[id].Sub(at))
	}
	return d
}

func roundAll(ds []time.Duration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = "+" + d.Round(time.Second).String()
	}
	return out
}
