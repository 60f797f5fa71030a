package notify

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func down(*Message) (bool, error) { return true, errDown }

// perAlertHarness has one Alertmanager-like receiver "am".
func perAlertHarness(t *testing.T) *harness {
	return newHarness(t, []string{"am"}, func(o *Options) {
		o.Receivers[0].Delivery = PerAlert
		o.ResendInterval = 5 * time.Minute
	})
}

// An hour of Alertmanager outage queues a firing re-send every 5 minutes
// and then the resolution. Before superseding, each entry retried on its
// own backoff, so older re-sends (longer backoff) arrived after the
// resolution and Alertmanager showed the alert as firing again.
func TestAlertmanagerOutageEndsWithTheLatestState(t *testing.T) {
	cases := []struct {
		name     string
		resolved bool
		want     []string
	}{
		{"resolved during the outage", true, []string{"resolved/resolved/critical token_failing [t1]"}},
		{"still firing", false, []string{"firing/repeat/critical token_failing [t1]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := perAlertHarness(t)
			h.recv["am"].setFail(down)
			h.eval("t1", finding("t1", health.KindTokenFailing, health.SeverityCritical, ""))
			for range 12 {
				h.step(5 * time.Minute)
			}
			if c.resolved {
				h.eval("t1")
			}
			h.step(time.Second)
			if q := h.n.Outbox(); len(q) != 1 {
				t.Fatalf("outbox holds %d messages after the outage, want only the latest state: %+v", len(q), q)
			}
			h.recv["am"].setFail(nil)
			h.step(time.Minute) // before the next re-send is due
			h.step(time.Minute)
			if got := summary(h.recv["am"].messages()); !slices.Equal(got, c.want) {
				t.Fatalf("delivered after the outage: %q, want %q", got, c.want)
			}
			if q := h.n.Outbox(); len(q) != 0 {
				t.Fatalf("outbox not drained: %+v", q)
			}
		})
	}
}

// A severity change is a different Alertmanager alert (severity is a
// label): the end of the old one and the new one are both delivered.
func TestAlertmanagerSeverityChangeIsNotSuperseded(t *testing.T) {
	h := perAlertHarness(t)
	h.recv["am"].setFail(down)
	h.eval("t1", finding("t1", health.KindPolicyDrift, health.SeverityWarning, "p"))
	h.step(time.Minute)
	h.eval("t1", finding("t1", health.KindPolicyDrift, health.SeverityCritical, "p"))
	h.step(time.Minute)
	h.recv["am"].setFail(nil)
	h.step(time.Minute) // before the next re-send is due
	h.step(time.Minute)
	got := summary(h.recv["am"].messages())
	slices.Sort(got)
	want := []string{"firing/escalated/critical policy_drift [t1]", "resolved/resolved/warning policy_drift [t1]"}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
}

// A chat receiver down across repeats gets every message afterwards, in
// the order they were decided: never a repeat after the resolution.
func TestGroupedMessagesKeepDecisionOrderAfterOutage(t *testing.T) {
	h := newHarness(t, []string{"chat"}, func(o *Options) { o.RepeatInterval = 10 * time.Minute })
	h.recv["chat"].setFail(down)
	h.eval("t1", finding("t1", health.KindTokenFailing, health.SeverityCritical, ""))
	for range 7 {
		h.step(5 * time.Minute)
	}
	h.eval("t1")
	h.step(time.Minute)
	h.recv["chat"].setFail(nil)
	for range 20 {
		h.step(time.Minute)
	}
	got := summary(h.recv["chat"].messages())
	want := []string{
		"firing/new/critical token_failing [t1]", "firing/repeat/critical token_failing [t1]",
		"firing/repeat/critical token_failing [t1]", "firing/repeat/critical token_failing [t1]",
		"resolved/resolved/critical token_failing [t1]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered in this order:\n%q\nwant\n%q", got, want)
	}
}

// A message in flight is never dropped, and the newer message about the
// same alert waits for its outcome rather than race it to Alertmanager.
func TestNewerMessageWaitsForOneInFlight(t *testing.T) {
	h := perAlertHarness(t)
	h.recv["am"].setFail(down)
	forever := time.Duration(1<<63 - 1)
	h.eval("t1", finding("t1", health.KindTokenFailing, health.SeverityCritical, ""))
	wait := forever
	first := h.n.claimDue(h.clk.Now(), &wait)
	if len(first) != 1 {
		t.Fatalf("claimed %d messages, want the firing one", len(first))
	}
	h.clk.Advance(5 * time.Minute)
	if err := h.n.Tick(); err != nil { // queues the re-send
		t.Fatal(err)
	}
	if jobs := h.n.claimDue(h.clk.Now(), &wait); len(jobs) != 0 || len(h.n.Outbox()) != 2 {
		t.Fatalf("claimed %d while the older message is in flight (outbox %d), want 0 and both kept", len(jobs), len(h.n.Outbox()))
	}
	h.n.deliver(context.Background(), first[0]) // fails: retry later
	h.clk.Advance(time.Minute)
	jobs := h.n.claimDue(h.clk.Now(), &wait)
	if len(jobs) != 1 || jobs[0].seq == first[0].seq || len(h.n.Outbox()) != 1 {
		t.Fatalf("after the failed attempt: claimed %d (seq %v), outbox %d; want the re-send alone", len(jobs), jobs, len(h.n.Outbox()))
	}
}
