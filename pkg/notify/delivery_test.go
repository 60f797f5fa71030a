package notify

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func TestFlapInsideGroupWindowSendsNothing(t *testing.T) {
	h := newHarness(t, []string{"chat"}, nil)
	h.eval("t1", finding("t1", health.KindTenantUnreachable, health.SeverityWarning, ""))
	h.eval("t2", finding("t2", health.KindTenantUnreachable, health.SeverityWarning, ""))
	h.step(20 * time.Second)
	h.eval("t1") // t1 recovers before the group window ends
	h.step(time.Minute)
	got := summary(h.recv["chat"].messages())
	if want := []string{"firing/new/warning tenant_unreachable [t2]"}; !slices.Equal(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
}

func TestBackoffGrowsWithJitterAndHonoursRetryAfter(t *testing.T) {
	h := newHarness(t, []string{"x"}, func(o *Options) {
		o.BackoffInitial, o.BackoffMax = 10*time.Second, 5*time.Minute
		o.Jitter = func() float64 { return 0.5 }
	})
	cases := []struct {
		attempts   int
		retryAfter time.Duration
		want       time.Duration
	}{
		{0, 0, 7500 * time.Millisecond}, // 10s: half fixed + half of the other half
		{1, 0, 15 * time.Second},        // 20s
		{3, 0, 60 * time.Second},        // 80s
		{10, 0, 225 * time.Second},      // capped at 5m
		{0, 42 * time.Second, 42 * time.Second},
		{10, 2 * time.Hour, time.Hour}, // a huge Retry-After is capped
	}
	for _, c := range cases {
		if got := h.n.backoff(c.attempts, c.retryAfter); got != c.want {
			t.Errorf("backoff(%d, %s) = %s, want %s", c.attempts, c.retryAfter, got, c.want)
		}
	}
}

func TestRateLimitedDeliveryWaitsRetryAfterAndCountsMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, []string{"chat"}, func(o *Options) { o.Registerer = reg })
	calls := 0
	h.recv["chat"].setFail(func(*Message) (bool, error) {
		calls++
		if calls == 1 {
			return true, &Error{Integration: "fake", Reason: FailRateLimited, RetryAfter: 90 * time.Second, Err: errString("429")}
		}
		return false, nil
	})
	h.eval("t1", finding("t1", health.KindTokenFailing, health.SeverityCritical, ""))
	h.step(time.Minute) // first attempt: rate limited
	if q := h.n.Outbox(); len(q) != 1 || q[0].Attempts != 1 || q[0].NextAttempt.Sub(h.clk.Now()) != 90*time.Second {
		t.Fatalf("outbox after 429: %+v (next attempt must be Retry-After away)", q)
	}
	h.step(80 * time.Second)
	if calls != 1 {
		t.Fatalf("retried before Retry-After elapsed (%d calls)", calls)
	}
	h.step(10 * time.Second)
	if calls != 2 || len(h.recv["chat"].messages()) != 1 {
		t.Fatalf("calls=%d delivered=%d after Retry-After", calls, len(h.recv["chat"].messages()))
	}
	if got := testutil.ToFloat64(h.n.metrics.sent.WithLabelValues("fake")); got != 1 {
		t.Errorf("sent_total = %v", got)
	}
	if got := testutil.ToFloat64(h.n.metrics.failed.WithLabelValues("fake", FailRateLimited)); got != 1 {
		t.Errorf("failed_total{rate_limited} = %v", got)
	}
	want := `
# HELP tokenhealth_notification_outbox_messages Notifications queued in the outbox, waiting for delivery or a retry.
# TYPE tokenhealth_notification_outbox_messages gauge
tokenhealth_notification_outbox_messages 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "tokenhealth_notification_outbox_messages"); err != nil {
		t.Error(err)
	}
}

func TestThreadReferencesAreCollectedAfterUse(t *testing.T) {
	h := newHarness(t, []string{"chat"}, nil)
	h.eval("t1", finding("t1", health.KindTokenFailing, health.SeverityCritical, ""))
	h.step(time.Minute)
	h.eval("t1")
	h.step(time.Minute)
	if len(h.n.state.threads) != 2 {
		t.Fatalf("%d thread refs after firing+resolved, want 2", len(h.n.state.threads))
	}
	h.step(25 * time.Hour)
	if len(h.n.state.threads) != 0 {
		t.Fatalf("%d thread refs left after a day unused", len(h.n.state.threads))
	}
	h.restart()
	if len(h.n.state.threads) != 0 {
		t.Fatal("collected thread refs came back after a restart")
	}
}

func TestEscalationInsideGroupWindowSendsOneMessage(t *testing.T) {
	h := newHarness(t, []string{"chat"}, nil)
	h.eval("t1", finding("t1", health.KindPolicyDrift, health.SeverityWarning, "p"))
	h.step(20 * time.Second)
	h.eval("t1", finding("t1", health.KindPolicyDrift, health.SeverityCritical, "p"))
	h.step(time.Minute)
	got := summary(h.recv["chat"].messages())
	if want := []string{"firing/new/critical policy_drift [t1]"}; !slices.Equal(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
	// It is not repeated as an escalation afterwards either.
	h.eval("t1", finding("t1", health.KindPolicyDrift, health.SeverityCritical, "p"))
	h.step(time.Minute)
	if n := len(h.recv["chat"].messages()); n != 1 {
		t.Fatalf("%d messages", n)
	}
}
