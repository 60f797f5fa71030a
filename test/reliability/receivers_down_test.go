package reliability

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

// The receivers-down test's virtual timeline.
const (
	rdSpeed  = 240.0     // virtual seconds per real second
	rdOutage = time.Hour // Slack, SMTP and Alertmanager down
	// rdRecovery is long enough for every retry (backoff at most 5 min) and
	// an Alertmanager re-send (every 5 min), and short enough that a stale
	// firing alert delivered after its resolution (endsAt = send + 20 min)
	// would still be listed by Alertmanager when the run ends.
	rdRecovery = 15 * time.Minute
	// rdWarmUpBudget is the virtual time the first verdicts may take (90 s
	// of real time): the clock starts that much further behind real time.
	rdWarmUpBudget = 6 * time.Hour
	// rdLagAtEnd is how far the virtual clock trails the real one when the
	// run ends. Alertmanager judges startsAt/endsAt against its own (real)
	// clock, while the agent stamps them with the virtual one: a resolved
	// alert's endsAt must never be in Alertmanager's future, and a firing
	// alert's endsAt (last re-send + 4 x 5 min) must still be ahead of it.
	rdLagAtEnd = 2 * time.Minute
)

// rdLagAtOutage is how far the virtual clock must trail real time when the
// outage starts so that it trails by rdLagAtEnd when the run ends: the
// outage and the recovery gain (1 - 1/speed) of their length on real time.
var rdLagAtOutage = rdLagAtEnd + time.Duration(float64(rdOutage+rdRecovery)*(1-1/rdSpeed))

// TestReceiversDownForAnHour: Slack (503), the SMTP relay (port closed) and
// Alertmanager (process stopped) are all down for one virtual hour while
// alerts fire and resolve. Afterwards every alert the notifier decided to
// send - as seen by a recording receiver that is never down - reached Slack
// and the mailbox exactly once, resolved ones as resolved and threaded
// under their firing message, and Alertmanager holds each still-firing
// alert once and no resolved one. The failures were visible meanwhile.
func TestReceiversDownForAnHour(t *testing.T) {
	am := newRealAlertmanager(t)
	cert, certPEM := loopbackCert(t)
	slack := newFakeSlack(t, cert)
	smtp := newFakeSMTP(t, cert)

	sc, mixOf := scenarioOf(36, mixHealthy, mixReportOnly, mixEveryTime)
	sc.Start = time.Now().UTC().Add(-rdLagAtOutage - rdWarmUpBudget).Truncate(time.Second).Format(time.RFC3339)
	receivers := fmt.Sprintf(`receivers:
  - name: ops-slack
    slack: {bot_token: %q, channel: %s, api_url: %q}
  - name: ops-mail
    email:
      smarthost: %q
      from: tokenhealth@msp.example
      to: [noc@msp.example]
      username: %s
      password: %q
  - name: alertmanager
    alertmanager: {url: %q}
routes:
  - receiver: ops-slack
  - receiver: ops-mail
  - receiver: alertmanager
`, slackBotToken, slackChannel, slack.apiURL(), smtp.addr, smtpUser, smtpPassword, am.url())
	w := newWorld(t, worldOptions{Scenario: sc, MixOf: mixOf, Receivers: receivers, CABundle: certPEM,
		Global: "  policy_refresh_interval: 10m\n"})
	w.run(rdSpeed)

	// Receivers up: every tenant reaches its verdict and its alerts go out.
	w.eventually("every tenant is at its verdict and its alerts reached Slack and the relay", 80*time.Second, func() bool {
		posts, _, _ := slack.snapshot()
		mails, _ := smtp.snapshot()
		return w.atTrueVerdicts() && len(posts) > 0 && len(mails) > 0 &&
			w.metric("tokenhealth_notification_outbox_messages", nil) == 0
	})

	// Down: Slack answers 503, the relay's port refuses, Alertmanager
	// stops. Virtual time stands still meanwhile and is then moved forward
	// to trail real time by rdLagAtOutage.
	w.clk.SetSpeed(0)
	slack.down.Store(true)
	smtp.stop()
	am.stop()
	lag := time.Since(w.clk.Now())
	if lag < rdLagAtOutage {
		t.Fatalf("the first verdicts took more than %s of virtual time; the clocks cannot be lined up for Alertmanager", rdWarmUpBudget)
	}
	w.clk.Advance(lag - rdLagAtOutage)
	outageStart := w.clk.Now()
	outageEnd := outageStart.Add(rdOutage)
	w.clk.SetSpeed(rdSpeed)
	limit := func(d time.Duration) time.Duration { return 30*time.Second + 2*time.Duration(float64(d)/rdSpeed) }

	// While they are down: a token starts failing, a report-only risk is
	// fixed (its alert resolves), and a report-only policy comes and goes
	// (an alert that fires and resolves before anyone can hear of it).
	w.until(outageStart.Add(5*time.Minute), limit(5*time.Minute))
	healthy, reportOnly := tenantsOfMix(w, mixHealthy), tenantsOfMix(w, mixReportOnly)
	if len(healthy) < 2 || len(reportOnly) < 1 {
		t.Fatalf("scenario has %d healthy and %d report-only tenants, want at least 2 and 1", len(healthy), len(reportOnly))
	}
	if err := healthy[0].SetAccountEnabled("svc-sync@"+healthy[0].Domain, false); err != nil {
		t.Fatal(err)
	}
	deletePoliciesNamed(t, reportOnly[0], "Report-only: MFA for all users")
	flapID, err := healthy[1].AddPolicy(json.RawMessage(`{"displayName":"Report-only: MFA during the change window",
		"state":"enabledForReportingButNotEnforced","conditions":{"users":{"includeUsers":["All"]},
		"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},
		"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	w.until(outageStart.Add(35*time.Minute), limit(30*time.Minute))
	if err := healthy[1].DeletePolicy(flapID); err != nil {
		t.Fatal(err)
	}

	// Back, all at the same virtual instant: Slack answers again, a new
	// relay listens on the same port, Alertmanager restarts on the same
	// port and storage (it keeps no alerts across a restart).
	w.until(outageEnd, limit(25*time.Minute))
	w.clk.SetSpeed(0)
	_, refused, _ := slack.snapshot()
	failed := map[string]float64{}
	for _, integ := range []string{"slack", "email", "alertmanager"} {
		failed[integ] = w.metric("tokenhealth_notifications_failed_total", map[string]string{"integration": integ})
	}
	outboxDuring := w.metric("tokenhealth_notification_outbox_messages", nil)
	slack.down.Store(false)
	smtp.start()
	am.start()
	w.clk.SetSpeed(rdSpeed)

	// Let the retries drain, then stop virtual time so that the clocks
	// stay lined up while the receivers are read.
	w.until(w.clk.Now().Add(rdRecovery), limit(rdRecovery))
	w.clk.SetSpeed(0)
	w.eventually("the outbox is empty", 60*time.Second, func() bool {
		return w.metric("tokenhealth_notification_outbox_messages", nil) == 0
	})

	t.Logf("outage %s-%s (virtual): %d Slack requests answered 503, failed attempts %v, %.0f messages queued at its end",
		outageStart.Format(time.TimeOnly), outageEnd.Format(time.TimeOnly), refused, failed, outboxDuring)
	if refused == 0 || failed["slack"] == 0 || failed["email"] == 0 || failed["alertmanager"] == 0 || outboxDuring == 0 {
		t.Errorf("the outage was not visible: %d Slack 503s, failed attempts %v, outbox %.0f", refused, failed, outboxDuring)
	}
	if !strings.Contains(w.logs.String(), "notification failed; will retry") {
		t.Errorf("no \"notification failed; will retry\" in the agent's log")
	}

	want, during := expectedDeliveries(w.rec, outageStart, outageEnd)
	checkDuring(t, during)
	checkSlack(t, slack, want)
	checkMail(t, smtp, want)
	checkAlertmanager(t, am, w)
}

// tenantsOfMix lists the simulated tenants of one generated mix, by id.
func tenantsOfMix(w *world, mix int) []*entrasim.Tenant {
	var out []*entrasim.Tenant
	for _, t := range w.sim.Tenants() {
		if m, ok := w.mixOf[t.ID]; ok && m == mix {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func deletePoliciesNamed(t *testing.T, tenant *entrasim.Tenant, name string) {
	t.Helper()
	var ids []string
	tenant.View(func(st *entrasim.TenantState) {
		for _, p := range st.Policies {
			if p.DisplayName == name {
				ids = append(ids, p.ID)
			}
		}
	})
	if len(ids) == 0 {
		t.Fatalf("tenant %s has no policy %q", tenant.ID, name)
	}
	for _, id := range ids {
		if err := tenant.DeletePolicy(id); err != nil {
			t.Fatal(err)
		}
	}
}

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
func sameDeliveries(t *testing.T, receiver string, got, want []delivered) {
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
	t.Logf("%s: %d alerts delivered, %d decided", receiver, len(got), len(want))
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

func checkSlack(t *testing.T, s *fakeSlack, want []delivered) {
	t.Helper()
	posts, _, bad := s.snapshot()
	if len(bad) > 0 {
		t.Errorf("Slack refused malformed posts: %q", bad)
	}
	var got []delivered
	firingIn := map[string]map[delivered]bool{} // ts -> alerts fired in that post
	for _, p := range posts {
		got = append(got, p.Alerts...)
		firingIn[p.TS] = map[delivered]bool{}
		for _, a := range p.Alerts {
			if a.Status == "firing" {
				firingIn[p.TS][firingKey(a)] = true
			}
		}
	}
	sameDeliveries(t, "Slack", got, want)
	for _, p := range posts {
		for _, a := range p.Alerts {
			if a.Status == "resolved" && !firingIn[p.ThreadTS][firingKey(a)] {
				t.Errorf("Slack: resolved %s is not threaded under the post that announced it (thread_ts %q)", a, p.ThreadTS)
			}
		}
	}
}

func checkMail(t *testing.T, s *fakeSMTP, want []delivered) {
	t.Helper()
	mails, bad := s.snapshot()
	if len(bad) > 0 {
		t.Errorf("the relay refused malformed mails: %q", bad)
	}
	var got []delivered
	firingIn := map[string]map[delivered]bool{} // Message-ID -> alerts fired in that mail
	for _, m := range mails {
		if !m.TLS {
			t.Errorf("mail %s was sent without STARTTLS", m.MessageID)
		}
		got = append(got, m.Alerts...)
		firingIn[m.MessageID] = map[delivered]bool{}
		for _, a := range m.Alerts {
			if a.Status == "firing" {
				firingIn[m.MessageID][firingKey(a)] = true
			}
		}
	}
	sameDeliveries(t, "SMTP", got, want)
	for _, m := range mails {
		for _, a := range m.Alerts {
			if a.Status == "resolved" && !firingIn[m.InReplyTo][firingKey(a)] {
				t.Errorf("mail: resolved %s does not reply to the mail that announced it (In-Reply-To %q)", a, m.InReplyTo)
			}
		}
	}
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
