package reliability

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

// The receivers-down test's checks: what each receiver showed against the
// notifier's decisions, as recorded by a receiver that is never down.
// expectedDeliveries is every alert of every message the recording
// receiver got (the notifier's decisions), and how many of them were
// decided while the receivers were down, by status.
func expectedDeliveries(rec *recorder, from, to time.Time) ([]delivered, map[string]int) {
	var out []delivered
	during := map[string]int{}
	for _, m := range rec.messages() {
		for _, a := range m.msg.Alerts {
			d := delivered{Status: string(a.Status), Reason: string(m.msg.Reason), Kind: notify.KindTitle(a.Finding.Kind), Tenant: a.Finding.TenantID}
			if len(a.Finding.Policies) > 0 {
				d.Policy = a.Finding.Policies[0].ID
			}
			out = append(out, d)
			if !m.at.Before(from) && m.at.Before(to) {
				during[d.Status]++
			}
		}
	}
	return out, during
}

func checkDuring(t *testing.T, during map[string]int) {
	t.Helper()
	t.Logf("alerts decided while the receivers were down: %d firing, %d resolved", during["firing"], during["resolved"])
	if during["firing"] == 0 || during["resolved"] == 0 {
		t.Errorf("the scenario did not fire and resolve alerts during the outage: %v", during)
	}
}

// sameDeliveries compares what a receiver showed with the notifier's
// decisions as multisets: a missing entry is a lost alert, an extra one a
// duplicate. The decisions themselves must not repeat an alert either.
func sameDeliveries(t *testing.T, receiver string, messages int, got, want []delivered) {
	t.Helper()
	count := func(ds []delivered) map[delivered]int {
		m := map[delivered]int{}
		for _, d := range ds {
			m[d]++
		}
		return m
	}
	g, w := count(got), count(want)
	var lost, extra, repeated []string
	for d, n := range w {
		if n > 1 {
			repeated = append(repeated, fmt.Sprintf("%dx %s", n, d))
		}
		if g[d] < n {
			lost = append(lost, fmt.Sprintf("%dx %s", n-g[d], d))
		}
	}
	for d, n := range g {
		if n > w[d] {
			extra = append(extra, fmt.Sprintf("%dx %s", n-w[d], d))
		}
	}
	slices.Sort(lost)
	slices.Sort(extra)
	slices.Sort(repeated)
	t.Logf("%s: %d alerts delivered in %d messages, %d decided", receiver, len(got), messages, len(want))
	if len(repeated) > 0 {
		t.Errorf("the notifier decided the same alert more than once:\n%s", strings.Join(repeated, "\n"))
	}
	if len(lost) > 0 {
		t.Errorf("%s lost %d alerts:\n%s", receiver, len(lost), strings.Join(lost, "\n"))
	}
	if len(extra) > 0 {
		t.Errorf("%s got %d duplicates:\n%s", receiver, len(extra), strings.Join(extra, "\n"))
	}
}

// firingKey identifies an alert across its firing and resolved messages.
func firingKey(d delivered) delivered {
	d.Status, d.Reason = "", ""
	return d
}

// threaded is one delivered message in a conversation: Slack posts thread
// under a ts, mails reply to a Message-ID.
type threaded struct {
	id, parent string
	alerts     []delivered
}

// checkThreads requires exactly the decided alerts, and every resolved
// alert in a reply (thread, In-Reply-To) to the message that fired it.
func checkThreads(t *testing.T, receiver, replyTo string, msgs []threaded, want []delivered) {
	t.Helper()
	var got []delivered
	firingIn := map[string]map[delivered]bool{} // message id -> alerts fired in it
	for _, m := range msgs {
		got = append(got, m.alerts...)
		firingIn[m.id] = map[delivered]bool{}
		for _, a := range m.alerts {
			if a.Status == "firing" {
				firingIn[m.id][firingKey(a)] = true
			}
		}
	}
	sameDeliveries(t, receiver, len(msgs), got, want)
	for _, m := range msgs {
		for _, a := range m.alerts {
			if a.Status == "resolved" && !firingIn[m.parent][firingKey(a)] {
				t.Errorf("%s: resolved %s is not in reply to the message that announced it (%s %q)", receiver, a, replyTo, m.parent)
			}
		}
	}
}

func checkSlack(t *testing.T, s *fakeSlack, want []delivered) {
	t.Helper()
	posts, _, bad := s.snapshot()
	if len(bad) > 0 {
		t.Errorf("Slack refused malformed posts: %q", bad)
	}
	msgs := make([]threaded, 0, len(posts))
	for _, p := range posts {
		msgs = append(msgs, threaded{id: p.TS, parent: p.ThreadTS, alerts: p.Alerts})
	}
	checkThreads(t, "Slack", "thread_ts", msgs, want)
}

func checkMail(t *testing.T, s *fakeSMTP, want []delivered) {
	t.Helper()
	mails, bad := s.snapshot()
	if len(bad) > 0 {
		t.Errorf("the relay refused malformed mails: %q", bad)
	}
	msgs := make([]threaded, 0, len(mails))
	for _, m := range mails {
		if !m.TLS {
			t.Errorf("mail %s was sent without STARTTLS", m.MessageID)
		}
		msgs = append(msgs, threaded{id: m.MessageID, parent: m.InReplyTo, alerts: m.Alerts})
	}
	checkThreads(t, "SMTP", "In-Reply-To", msgs, want)
}

// checkAlertmanager: Alertmanager deduplicates by labels and the agent
// re-sends firing alerts, so "exactly once" is its alert list: every alert
// still firing at the end is listed once, and none that resolved is.
func checkAlertmanager(t *testing.T, am *realAlertmanager, w *world) {
	t.Helper()
	last := map[string]notify.Alert{} // alert key -> last decision
	for _, m := range w.rec.messages() {
		for _, a := range m.msg.Alerts {
			last[a.Key] = a
		}
	}
	identity := func(tenant, kind, policy string) string { return tenant + " " + kind + " " + policy }
	wantFiring, resolved := map[string]bool{}, map[string]bool{}
	for _, a := range last {
		policy := ""
		if len(a.Finding.Policies) > 0 {
			policy = a.Finding.Policies[0].ID
		}
		id := identity(a.Finding.TenantID, string(a.Finding.Kind), policy)
		if a.Status == notify.StatusFiring {
			wantFiring[id] = true
		} else {
			resolved[id] = true
		}
	}
	alerts, err := am.alerts()
	if err != nil {
		t.Fatalf("reading Alertmanager: %v", err)
	}
	listed := map[string]int{}
	for _, a := range alerts {
		listed[identity(a.Labels["tenant_id"], a.Labels["kind"], a.Labels["policy_id"])]++
	}
	t.Logf("Alertmanager: %d alerts listed; %d firing and %d resolved at the end by the agent's decisions", len(alerts), len(wantFiring), len(resolved))
	for _, id := range sortedKeys(wantFiring) {
		if listed[id] != 1 {
			tenant, _, _ := strings.Cut(id, " ")
			t.Errorf("Alertmanager lists firing alert %s %d times, want once; the tenant's findings now: %s", id, listed[id], findingsOf(w, tenant))
		}
	}
	for _, id := range sortedKeys(listed) {
		switch {
		case resolved[id]:
			t.Errorf("Alertmanager still lists resolved alert %s as active", id)
		case !wantFiring[id]:
			t.Errorf("Alertmanager lists %s, which the agent never announced", id)
		}
	}
}

// findingsOf describes a tenant's current findings for failure messages.
func findingsOf(w *world, tenant string) string {
	var out []string
	for _, f := range w.statuses()[tenant].Findings {
		var ps []string
		for _, p := range f.Policies {
			ps = append(ps, p.ID)
		}
		out = append(out, fmt.Sprintf("%s/%s policies=%v", f.Kind, f.Severity, ps))
	}
	return strings.Join(out, "; ")
}
