package notify

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func TestGroupingAcrossTenantsThenRepeatThenResolvedThreads(t *testing.T) {
	h := newHarness(t, []string{"chat"}, nil)
	tenants := []string{"t1", "t2", "t3"}
	for i, tn := range tenants {
		h.eval(tn, finding(tn, health.KindPolicyBreaksNow, health.SeverityCritical, "pol-A"))
		h.step(time.Duration(i+1) * 10 * time.Second) // all within the 1m window
	}
	h.step(time.Minute)
	got := summary(h.recv["chat"].messages())
	want := []string{"firing/new/critical policy_breaks_now [t1 t2 t3]"}
	if !slices.Equal(got, want) {
		t.Fatalf("after the group window: %q, want %q", got, want)
	}
	// Re-evaluating with the same findings sends nothing until the repeat interval.
	for i := 0; i < 10; i++ {
		for _, tn := range tenants {
			h.eval(tn, finding(tn, health.KindPolicyBreaksNow, health.SeverityCritical, "pol-A"))
		}
		h.step(15 * time.Minute)
	}
	if n := len(h.recv["chat"].messages()); n != 1 {
		t.Fatalf("re-evaluations within the repeat interval sent %d messages, want 1", n)
	}
	h.step(2 * time.Hour) // past 4 h since the first message
	h.step(time.Minute)
	got = summary(h.recv["chat"].messages())
	want = append(want, "firing/repeat/critical policy_breaks_now [t1 t2 t3]")
	if !slices.Equal(got, want) {
		t.Fatalf("after the repeat interval: %q, want %q", got, want)
	}
	// t2 clears: a resolved message threads under the post that last announced it.
	h.eval("t2")
	h.step(time.Minute)
	msgs := h.recv["chat"].messages()
	got = summary(msgs)
	want = append(want, "resolved/resolved/critical policy_breaks_now [t2]")
	if !slices.Equal(got, want) {
		t.Fatalf("after t2 cleared: %q, want %q", got, want)
	}
	last := msgs[len(msgs)-1]
	if last.ThreadOf != msgs[1].ID || last.ThreadRef != "post-2" {
		t.Fatalf("resolved ThreadOf=%q ThreadRef=%q, want %q and post-2", last.ThreadOf, last.ThreadRef, msgs[1].ID)
	}
	if last.Alerts[0].EndsAt.IsZero() || !last.Alerts[0].StartsAt.Equal(msgs[0].Alerts[1].StartsAt) {
		t.Fatalf("resolved alert times: %+v", last.Alerts[0])
	}
}

func TestPredictedBreakWarnsAndEscalatesOnceEach(t *testing.T) {
	h := newHarness(t, []string{"chat"}, nil)
	pred := finding("t1", health.KindPredictedBreak, health.SeverityInfo, "sif-4h")
	pred.PredictedAt = t0.Add(100 * time.Hour)
	// Probe every 15 minutes for 100 hours.
	for i := 0; i < 100*4-2; i++ {
		h.eval("t1", pred)
		h.step(15 * time.Minute)
	}
	got := summary(h.recv["chat"].messages())
	want := []string{
		"firing/new/warning predicted_break [t1]",
		"firing/escalated/critical predicted_break [t1]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("messages = %q, want %q", got, want)
	}
	msgs := h.recv["chat"].messages()
	// The warning went out at the 72 h lead (28 h after start), the critical at 24 h.
	if d := pred.PredictedAt.Sub(msgs[0].CreatedAt); d > 72*time.Hour || d < 71*time.Hour {
		t.Errorf("warning created %s before the break, want just under 72h", d)
	}
	if d := pred.PredictedAt.Sub(msgs[1].CreatedAt); d > 24*time.Hour || d < 23*time.Hour {
		t.Errorf("critical created %s before the break, want just under 24h", d)
	}
}

func TestIdPOutageInhibitsPerTenantUnreachableAlerts(t *testing.T) {
	h := newHarness(t, []string{"chat"}, nil)
	idp := finding("global", health.KindIdPUnreachable, health.SeverityCritical, "")
	h.eval("global", idp)
	for _, tn := range []string{"t1", "t2"} {
		h.eval(tn, finding(tn, health.KindTenantUnreachable, health.SeverityWarning, ""))
	}
	transient := finding("t3", health.KindTokenFailing, health.SeverityCritical, "")
	transient.Cause = CauseTransient
	h.eval("t3", transient)
	real := finding("t4", health.KindPolicyBreaksNow, health.SeverityCritical, "block")
	h.eval("t4", real)
	h.step(time.Minute)
	got := summary(h.recv["chat"].messages())
	slices.Sort(got)
	want := []string{"firing/new/critical idp_unreachable [global]", "firing/new/critical policy_breaks_now [t4]"}
	if !slices.Equal(got, want) {
		t.Fatalf("during the outage: %q, want %q", got, want)
	}
	// The outage ends but t1 stays unreachable: now it is worth an alert.
	h.recv["chat"].reset()
	h.eval("global")
	h.eval("t2")
	h.eval("t3")
	h.step(time.Minute) // the tick sees the inhibition gone and queues t1
	h.step(time.Minute) // the group window ends
	got = summary(h.recv["chat"].messages())
	slices.Sort(got)
	want = []string{"firing/new/warning tenant_unreachable [t1]", "resolved/resolved/critical idp_unreachable [global]"}
	if !slices.Equal(got, want) {
		t.Fatalf("after the outage: %q, want %q", got, want)
	}
}

func TestSilenceMutesUntilItExpiresOrIsRemoved(t *testing.T) {
	h := newHarness(t, []string{"chat"}, nil)
	sils := &SilenceDB{DB: h.db, Clock: h.clk}
	ctx := context.Background()
	s1, err := sils.AddSilence(ctx, SilenceRequest{TenantID: "t1", For: 2 * time.Hour, Reason: "maintenance", Author: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sils.AddSilence(ctx, SilenceRequest{TenantID: "t2", Kind: health.KindReportOnlyRisk, For: 24 * time.Hour, Reason: "known"}); err != nil {
		t.Fatal(err)
	}
	h.eval("t1", finding("t1", health.KindTokenFailing, health.SeverityCritical, ""))
	h.eval("t2", finding("t2", health.KindReportOnlyRisk, health.SeverityWarning, "ro"), finding("t2", health.KindPolicyDrift, health.SeverityWarning, "dr"))
	h.step(time.Minute)
	if got, want := summary(h.recv["chat"].messages()), []string{"firing/new/warning policy_drift [t2]"}; !slices.Equal(got, want) {
		t.Fatalf("with silences: %q, want %q", got, want)
	}
	list, err := sils.ListSilences(ctx)
	if err != nil || len(list) != 2 || list[0].ID != s1.ID {
		t.Fatalf("ListSilences = %+v, %v; want 2 with %s first", list, err, s1.ID)
	}
	// The 2 h silence expires by itself: t1's alert fires at the next check.
	h.step(2 * time.Hour)
	h.step(time.Minute)
	got := summary(h.recv["chat"].messages())
	if !slices.Contains(got, "firing/new/critical token_failing [t1]") {
		t.Fatalf("after expiry: %q lacks t1's alert", got)
	}
	if list, _ := sils.ListSilences(ctx); len(list) != 1 {
		t.Fatalf("expired silence still listed: %+v", list)
	}
	if err := sils.RemoveSilence(ctx, s1.ID); err == nil {
		t.Fatal("removing an expired silence succeeded")
	}
	list, _ = sils.ListSilences(ctx)
	if err := sils.RemoveSilence(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	h.step(time.Minute)
	h.step(time.Minute)
	if got := summary(h.recv["chat"].messages()); !slices.Contains(got, "firing/new/warning report_only_risk [t2]") {
		t.Fatalf("after removal: %q lacks t2's report-only alert", got)
	}
}

func TestSilenceRequestValidation(t *testing.T) {
	cases := []struct {
		req  SilenceRequest
		want string
	}{
		{SilenceRequest{TenantID: "t", For: time.Hour, Reason: "r"}, ""},
		{SilenceRequest{For: time.Hour, Reason: "r"}, "tenant: required"},
		{SilenceRequest{TenantID: "t", Kind: "nope", For: time.Hour, Reason: "r"}, `kind: "nope" is not one of token_failing, tenant_unreachable, predicted_break, policy_breaks_now, report_only_risk, policy_drift, whatif_disagreement, graph_access, idp_unreachable, agent_health`},
		{SilenceRequest{TenantID: "t", For: 0, Reason: "r"}, "for: 0s is out of range (more than 0, at most 2160h0m0s)"},
		{SilenceRequest{TenantID: "t", For: time.Hour}, "reason: required (say why, for the next person on call)"},
	}
	for _, c := range cases {
		err := c.req.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("Validate(%+v) = %q, want %q", c.req, got, c.want)
		}
	}
}

func TestRejectedCredentialsBecomeAgentHealthAlertForOtherReceivers(t *testing.T) {
	h := newHarness(t, []string{"slack", "mail"}, nil)
	h.recv["slack"].setFail(func(*Message) (bool, error) {
		return false, &Error{Integration: "slack", Reason: FailAuth, AgentHealth: true, Err: errString("invalid_auth")}
	})
	h.eval("t1", finding("t1", health.KindTokenFailing, health.SeverityCritical, ""))
	h.step(time.Minute)
	h.step(time.Minute)
	got := summary(h.recv["mail"].messages())
	want := []string{"firing/new/critical token_failing [t1]", "firing/new/critical agent_health [tokenhealth-agent]"}
	if !slices.Equal(got, want) {
		t.Fatalf("mail got %q, want %q", got, want)
	}
	if len(h.recv["slack"].messages()) != 0 {
		t.Fatal("slack accepted a message while rejecting credentials")
	}
	// Slack is fixed; its next delivery clears the agent-health alert.
	h.recv["slack"].setFail(nil)
	h.eval("t1")
	h.step(time.Minute)
	h.step(time.Minute)
	got = summary(h.recv["mail"].messages())
	want = append(want, "resolved/resolved/critical token_failing [t1]", "resolved/resolved/critical agent_health [tokenhealth-agent]")
	if !slices.Equal(got, want) {
		t.Fatalf("mail got %q, want %q", got, want)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestPerAlertReceiverGetsEveryAlertAndEndsOldSeverity(t *testing.T) {
	h := newHarness(t, []string{"am"}, func(o *Options) {
		o.Receivers[0].Delivery = PerAlert
		o.ResendInterval = 5 * time.Minute
	})
	pred := finding("t1", health.KindPredictedBreak, health.SeverityInfo, "sif")
	pred.PredictedAt = t0.Add(30 * time.Hour)
	h.eval("t1", pred)
	h.eval("t2", finding("t2", health.KindPredictedBreak, health.SeverityWarning, "sif"), finding("t2", health.KindTokenFailing, health.SeverityCritical, ""))
	h.n.Flush(context.Background()) // no group window: due at once
	// Deliveries run concurrently (MaxInFlight): compare as sets.
	got := sorted(summary(h.recv["am"].messages()))
	// t2's prediction is muted by its failing token (inhibit.go).
	want := sorted([]string{
		"firing/new/warning predicted_break [t1]",
		"firing/new/critical token_failing [t2]",
	})
	if !slices.Equal(got, want) {
		t.Fatalf("first round: %q, want %q", got, want)
	}
	h.recv["am"].reset()
	// 6 h later t1 is inside the critical lead; every firing alert is re-sent.
	h.clk.Advance(6*time.Hour + time.Minute)
	h.eval("t1", pred)
	h.eval("t2")
	h.n.Flush(context.Background())
	got = sorted(summary(h.recv["am"].messages()))
	want = sorted([]string{
		"resolved/resolved/warning predicted_break [t1]",
		"firing/escalated/critical predicted_break [t1]",
		"resolved/resolved/critical token_failing [t2]",
	})
	if !slices.Equal(got, want) {
		t.Fatalf("second round: %q, want %q", got, want)
	}
	h.recv["am"].reset()
	h.step(5 * time.Minute)
	if got := summary(h.recv["am"].messages()); !slices.Equal(got, []string{"firing/repeat/critical predicted_break [t1]"}) {
		t.Fatalf("resend: %q", got)
	}
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
