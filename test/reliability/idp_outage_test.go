package reliability

import (
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

// TestIdentityProviderDownForAnHour: every token request is answered 503
// for one virtual hour. No tenant may be declared failing or unreachable,
// exactly one "identity provider unreachable" alert fires and resolves,
// and probing resumes spread out, not in a burst.
func TestIdentityProviderDownForAnHour(t *testing.T) {
	sc, mixOf := scenarioOf(72, mixHealthy) // 12 healthy tenants
	w := newWorld(t, worldOptions{Scenario: sc, MixOf: mixOf})
	n := len(mixOf)
	w.run(600) // ten virtual minutes per real second

	w.eventually("every tenant is healthy", 30*time.Second, func() bool {
		for _, st := range w.states() {
			if st != health.StateHealthy {
				return false
			}
		}
		return len(w.states()) == n
	})
	w.until(w.clk.Now().Add(20*time.Minute), 10*time.Second)

	outageStart := w.clk.Now()
	outageEnd := outageStart.Add(time.Hour)
	w.sim.Faults().Set(entrasim.ClassToken, entrasim.FaultSpec{OutageUntil: outageEnd})

	// Watch every tenant's state through the outage and the hour after.
	for w.clk.Now().Before(outageEnd.Add(time.Hour)) {
		for id, st := range w.states() {
			if st == health.StateFailing || st == health.StateUnreachable {
				t.Fatalf("tenant %s declared %s at virtual %s (outage %s-%s)", id, st, w.clk.Now().Format(time.TimeOnly),
					outageStart.Format(time.TimeOnly), outageEnd.Format(time.TimeOnly))
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.sim.Faults().Clear(entrasim.ClassToken)

	idp := w.rec.alertsOfKind(health.KindIdPUnreachable)
	key := notify.AlertKey(health.Finding{TenantID: notify.AgentTenantID, Kind: health.KindIdPUnreachable})
	want := []string{"firing " + key, "resolved " + key}
	if len(idp) != 2 || idp[0] != want[0] || idp[1] != want[1] {
		t.Fatalf("identity provider alerts = %q, want exactly %q (%d messages recorded)\nlog:\n%s", idp, want, len(w.rec.messages()), grepLines(w.logs.String(), "identity provider", "alert", "notif", "ERROR"))
	}
	for _, m := range w.rec.messages() {
		for _, a := range m.msg.Alerts {
			if a.Finding.TenantID != notify.AgentTenantID && a.Status == notify.StatusFiring {
				t.Errorf("tenant alert during the outage: %s %s %q", a.Key, a.Finding.Kind, a.Finding.Summary)
			}
		}
	}

	// After recovery: every tenant redeemed its token again, and no
	// virtual minute saw a burst. 12 tenants on a 15-minute interval
	// average 0.8 redemptions a minute; all of them at once would be 12.
	perMinute := w.tokenGrantsPerMinute(outageEnd, outageEnd.Add(time.Hour))
	maxPerMinute, total := 0, 0
	for _, c := range perMinute {
		maxPerMinute = max(maxPerMinute, c)
		total += c
	}
	t.Logf("after recovery: %d token redemptions in the first virtual hour, at most %d in one minute", total, maxPerMinute)
	if maxPerMinute > n/2 {
		t.Errorf("burst after recovery: %d redemptions in one virtual minute (%d tenants)", maxPerMinute, n)
	}
	if total < n {
		t.Errorf("only %d redemptions in the hour after recovery for %d tenants: probing did not resume", total, n)
	}
	for id, st := range w.states() {
		if st != health.StateHealthy {
			t.Errorf("tenant %s is %s after recovery, want healthy", id, st)
		}
	}
}
