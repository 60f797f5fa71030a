package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// The helpers below give every integration the same words; each integration
// only escapes them for its own format.

// kindTitles describe a kind in plain words, for headlines.
var kindTitles = map[health.Kind]string{
	health.KindTokenFailing:       "Delegated token no longer works",
	health.KindTenantUnreachable:  "Tenant unreachable",
	health.KindPredictedBreak:     "Delegated token will break",
	health.KindPolicyBreaksNow:    "A Conditional Access policy blocks the token",
	health.KindReportOnlyRisk:     "A report-only policy would break the token",
	health.KindPolicyDrift:        "A policy change now covers the service account",
	health.KindWhatIfDisagreement: "What If disagrees with the local evaluation",
	health.KindGraphAccess:        "Microsoft Graph cannot be read",
	health.KindIdPUnreachable:     "Identity provider unreachable",
	health.KindAgentHealth:        "tokenhealth agent problem",
}

// KindTitle describes kind in plain words.
func KindTitle(k health.Kind) string {
	if t, ok := kindTitles[k]; ok {
		return t
	}
	return string(k)
}

// Title is the one-line headline of a message, e.g.
// "[CRITICAL] Delegated token will break: Contoso" or
// "[RESOLVED] Tenant unreachable: 3 tenants".
func Title(m *Message) string {
	label := strings.ToUpper(string(m.Severity))
	if m.Status == StatusResolved {
		label = "RESOLVED"
	}
	if m.Reason == ReasonTest {
		label = "TEST " + label
	}
	tenants := m.Tenants()
	who := fmt.Sprintf("%d tenants", len(tenants))
	if len(tenants) == 1 {
		who = tenants[0].TenantName
		if who == "" {
			who = tenants[0].TenantID
		}
	}
	return fmt.Sprintf("[%s] %s: %s", label, KindTitle(m.Kind), who)
}

// AbsoluteUTC renders t for people in several time zones.
func AbsoluteUTC(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Relative renders the distance from now to t as "in 1 d 4 h",
// "in 35 min" or "2 h 10 min ago", keeping the two largest units.
func Relative(now, t time.Time) string {
	d := t.Sub(now)
	if d > -time.Minute && d < time.Minute {
		return "now"
	}
	// Alerts are read minutes after they are written: round to the minute.
	return health.Relative(now.Add(d.Round(time.Minute)), now)
}

// When says when the finding's problem happens: the predicted break for a
// prediction, else when it was detected (or, resolved, when it ended).
func When(a Alert, now time.Time) string {
	f := a.Finding
	switch {
	case a.Status == StatusResolved && !a.EndsAt.IsZero():
		return fmt.Sprintf("resolved at %s (%s)", AbsoluteUTC(a.EndsAt), Relative(now, a.EndsAt))
	case !f.PredictedAt.IsZero() && f.PredictedAt.After(now):
		return fmt.Sprintf("breaks at %s (%s)", AbsoluteUTC(f.PredictedAt), Relative(now, f.PredictedAt))
	case !f.PredictedAt.IsZero():
		return fmt.Sprintf("broke at %s (%s)", AbsoluteUTC(f.PredictedAt), Relative(now, f.PredictedAt))
	case !f.DetectedAt.IsZero():
		return fmt.Sprintf("detected at %s (%s)", AbsoluteUTC(f.DetectedAt), Relative(now, f.DetectedAt))
	}
	return fmt.Sprintf("since %s (%s)", AbsoluteUTC(a.StartsAt), Relative(now, a.StartsAt))
}

// ExplainCommand is the command that tells the full story of a tenant.
func ExplainCommand(tenantID string) string {
	if tenantID == "" || tenantID == AgentTenantID {
		return "tokenhealth status"
	}
	return "tokenhealth explain " + tenantID
}

// TenantLabel is "Name (id)", or the id alone when the name is unknown.
func TenantLabel(f health.Finding) string {
	if f.TenantName == "" || f.TenantName == f.TenantID {
		return f.TenantID
	}
	return f.TenantName + " (" + f.TenantID + ")"
}

// PolicyLabel is a policy's display name with its state when not enabled.
func PolicyLabel(p health.PolicyRef) string {
	name := p.DisplayName
	if name == "" {
		name = p.ID
	}
	if p.State != "" && p.State != "enabled" {
		return name + " [" + p.State + "]"
	}
	return name
}
