package probe

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// Findings turns a scheduler update into the probe's findings for the
// tenant, the shape every output renders: a critical token_failing finding
// while the token is failing, a warning tenant_unreachable finding while
// transient failures outlast the debounce, and none otherwise (the policy
// engine adds predictions separately).
func (u Update) Findings() []health.Finding {
	r := u.Result
	base := health.Finding{TenantID: u.TenantID, TenantName: u.Name, DetectedAt: r.Time}
	switch u.State {
	case StateFailing:
		d := r.Diagnosis
		f := base
		f.Kind, f.Severity, f.Cause = health.KindTokenFailing, health.SeverityCritical, string(d.Cause)
		f.Summary = "The canary token no longer redeems: " + firstSentence(orElse(d.Explanation, r.Message))
		f.Evidence = attemptEvidence(r)
		if d.Remediation != "" {
			f.Remediation = []string{d.Remediation}
		}
		return []health.Finding{f}
	case StateUnreachable:
		f := base
		f.Kind, f.Severity, f.Cause = health.KindTenantUnreachable, health.SeverityWarning, string(CauseTransient)
		f.Summary = fmt.Sprintf("%d token requests in a row failed transiently since %s; the token itself was not judged",
			u.ConsecutiveTransient, u.TransientSince.UTC().Format(time.RFC3339))
		f.Evidence = attemptEvidence(r)
		f.Remediation = []string{"Check the network path from the agent to the identity provider (proxy, firewall, DNS, TLS inspection). The agent keeps retrying with backoff."}
		return []health.Finding{f}
	}
	return nil
}

// ProbeView is what the health model needs from the probe for this tenant.
func (u Update) ProbeView() health.ProbeView {
	return health.ProbeView{
		Enrolled:    !u.Result.NotEnrolled,
		Probed:      !u.Result.NotEnrolled,
		LastRefresh: u.Result.Clocks.LastRedemption,
		LastProbe:   u.Result.Time,
	}
}

// Finding is the single agent-wide finding for an identity-provider
// outage; ok is false when there is none.
func (s IdPStatus) Finding() (f health.Finding, ok bool) {
	if !s.Unreachable {
		return health.Finding{}, false
	}
	return health.Finding{
		TenantName: "all tenants",
		Kind:       health.KindIdPUnreachable,
		Severity:   health.SeverityCritical,
		Cause:      string(CauseTransient),
		Summary: fmt.Sprintf("The identity provider is unreachable: %d of the %d tenants probed recently failed transiently. Per-tenant transient failures are held back while this lasts.",
			s.Transient, s.Probed),
		Remediation: []string{"Check the agent's network path to the sign-in host (proxy, firewall, DNS, TLS inspection) and Microsoft's service health. Tokens are not judged while this lasts."},
		DetectedAt:  s.Since,
	}, true
}

// attemptEvidence lists what identifies the failed attempt for Microsoft
// support and the sign-in logs. No token ever appears here.
func attemptEvidence(r Result) []string {
	d := r.Diagnosis
	var ev []string
	if len(d.Codes) > 0 {
		codes := make([]string, len(d.Codes))
		for i, c := range d.Codes {
			codes[i] = fmt.Sprintf("AADSTS%d", c)
		}
		ev = append(ev, strings.Join(codes, ", ")+" at "+r.Time.UTC().Format(time.RFC3339))
	}
	for _, kv := range []struct{ label, key string }{
		{"issued at", ValueIssuedAt}, {"maximum lifetime (s)", ValueMaxLifetimeSeconds},
		{"tokens valid from", ValueTokensValidFrom}, {"trace id", ValueTraceID}, {"correlation id", ValueCorrelationID},
	} {
		if v := d.Values[kv.key]; v != "" {
			ev = append(ev, kv.label+": "+v)
		}
	}
	if len(ev) == 0 && r.Message != "" {
		ev = append(ev, r.Message)
	}
	return ev
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// firstSentence keeps a summary to one line.
func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}
