// Package alertmanager hands alerts to a Prometheus Alertmanager through
// its v2 API, following the client contract Prometheus itself uses: every
// firing alert is re-sent periodically with endsAt a few resend intervals
// ahead (so Alertmanager resolves it by itself if the agent dies), and a
// resolved alert is sent once with endsAt = now. Alertmanager deduplicates,
// groups and routes; tokenhealth sends it every alert individually.
package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

const integration = "alertmanager"

// EndsAtFactor times the resend interval gives a firing alert's endsAt,
// as Prometheus does with its evaluation interval: three resends may be
// lost before Alertmanager considers the alert resolved.
const EndsAtFactor = 4

// PostableAlert is one element of POST /api/v2/alerts.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Alertmanager posts to one Alertmanager (or a load balancer in front of
// an HA pair: they gossip).
type Alertmanager struct {
	url      string
	user     string
	password string
	hc       *http.Client
	resend   time.Duration
}

// New builds the integration; resend is the notifier's resend interval.
func New(cfg *Config, hc *http.Client, resend time.Duration) *Alertmanager {
	if hc == nil {
		hc = http.DefaultClient
	}
	if resend <= 0 {
		resend = notify.DefaultResendInterval
	}
	return &Alertmanager{
		url: strings.TrimSuffix(cfg.URL, "/") + "/api/v2/alerts", user: cfg.BasicAuthUsername,
		password: cfg.BasicAuthPassword.Reveal(), hc: hc, resend: resend,
	}
}

// AlertName is the alertname label of a kind: "TokenhealthPredictedBreak".
func AlertName(k health.Kind) string {
	var b strings.Builder
	b.WriteString("Tokenhealth")
	for _, part := range strings.Split(string(k), "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// Alerts maps a message to the v2 payload.
func (a *Alertmanager) Alerts(m *notify.Message) []PostableAlert {
	out := make([]PostableAlert, 0, len(m.Alerts))
	for _, al := range m.Alerts {
		f := al.Finding
		policy := ""
		var names []string
		for _, p := range f.Policies {
			names = append(names, notify.PolicyLabel(p)+" ("+p.ID+")")
		}
		if len(f.Policies) > 0 {
			policy = f.Policies[0].ID
		}
		desc := []string{f.Summary, notify.When(al, m.Now)}
		if len(names) > 0 {
			desc = append(desc, "Responsible policy: "+strings.Join(names, "; "))
		}
		if len(f.Evidence) > 0 {
			desc = append(desc, "Evidence: "+strings.Join(f.Evidence, "; "))
		}
		var steps []string
		for i, r := range f.Remediation {
			steps = append(steps, strconv.Itoa(i+1)+". "+r)
		}
		pa := PostableAlert{
			Labels: map[string]string{
				"alertname": AlertName(f.Kind), "tenant_id": f.TenantID, "tenant_name": f.TenantName,
				"kind": string(f.Kind), "severity": string(al.Severity), "policy_id": policy,
			},
			Annotations: map[string]string{
				"summary":     notify.KindTitle(f.Kind) + ": " + notify.TenantLabel(f),
				"description": strings.Join(desc, "\n"),
				"remediation": strings.Join(steps, "\n"),
				"runbook":     notify.ExplainCommand(f.TenantID),
			},
			StartsAt: al.StartsAt.UTC(),
		}
		if !f.PredictedAt.IsZero() {
			pa.Annotations["predicted_at"] = f.PredictedAt.UTC().Format(time.RFC3339)
		}
		if al.Status == notify.StatusResolved {
			pa.EndsAt = al.EndsAt.UTC()
			if pa.EndsAt.IsZero() || pa.EndsAt.After(m.Now) {
				pa.EndsAt = m.Now.UTC()
			}
		} else {
			pa.EndsAt = m.Now.Add(EndsAtFactor * a.resend).UTC()
		}
		out = append(out, pa)
	}
	return out
}

// Notify posts the message's alerts.
func (a *Alertmanager) Notify(ctx context.Context, m *notify.Message) (bool, error) {
	body, err := json.Marshal(a.Alerts(m))
	if err != nil {
		return false, &notify.Error{Integration: integration, Reason: notify.FailRender, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return false, &notify.Error{Integration: integration, Reason: notify.FailConfig, Err: notify.RedactError(err)}
	}
	req.Header.Set("Content-Type", "application/json")
	if a.user != "" {
		req.SetBasicAuth(a.user, a.password)
	}
	return notify.SendHTTP(a.hc, integration, req)
}
