package reliability

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
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
	if testing.Short() {
		t.Skip("reliability test with a simulated tenant set and a real Alertmanager")
	}
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
