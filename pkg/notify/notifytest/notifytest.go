// Package notifytest holds the messages the integration tests render: one
// realistic alert whose tenant-controlled strings try every injection a
// format allows (Slack mentions and links, HTML, Markdown), so each
// integration's escaping is tested on the same input and the golden files
// show the same alert in every format.
package notifytest

import (
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

// Now is the rendering time of the samples.
var Now = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// Hostile strings, as a tenant administrator could name things.
const (
	HostileTenant = "Contoso <!channel> & Sons"
	HostilePolicy = "SIF 4h <@U0ADMIN> <script>alert(1)</script> *[click](https://evil.example)*"
	HostileUPN    = "svc-sync@contoso.com"
)

// Firing is a critical predicted break for two tenants, grouped.
func Firing() *notify.Message {
	f1 := health.Finding{
		TenantID: "6f1c2d3e-0000-4000-8000-000000000001", TenantName: HostileTenant,
		Kind: health.KindPredictedBreak, Severity: health.SeverityCritical, Cause: "ca_sign_in_frequency",
		Summary:     "The delegated token of " + HostileUPN + " will fail to refresh when the sign-in frequency of 4 hours expires.",
		Policies:    []health.PolicyRef{{ID: "a1b2c3d4-0000-4000-8000-00000000000a", DisplayName: HostilePolicy, State: "enabled"}},
		Evidence:    []string{"Policy covers " + HostileUPN + " through group \"All users\"", "Last interactive sign-in 2026-11-26 13:00 UTC"},
		PredictedAt: Now.Add(28 * time.Hour),
		Remediation: []string{
			"Exclude " + HostileUPN + " from the policy's users (Entra admin center > Conditional Access > the policy > Users > Exclude).",
			"Re-authenticate the platform's connection for this tenant after the change.",
		},
		DetectedAt: Now.Add(-2 * time.Hour),
	}
	f2 := health.Finding{
		TenantID: "7a2b3c4d-0000-4000-8000-000000000002", TenantName: "Fabrikam",
		Kind: health.KindPredictedBreak, Severity: health.SeverityCritical, Cause: "ca_sign_in_frequency",
		Summary:     "The delegated token will fail to refresh when the sign-in frequency of 1 day expires.",
		Policies:    []health.PolicyRef{{ID: "b2c3d4e5-0000-4000-8000-00000000000b", DisplayName: "Baseline: SIF 1 day", State: "enabled"}},
		Evidence:    []string{"Policy covers the service account directly"},
		PredictedAt: Now.Add(20 * time.Hour),
		Remediation: []string{"Exclude the service account from \"Baseline: SIF 1 day\"."},
		DetectedAt:  Now.Add(-1 * time.Hour),
	}
	return &notify.Message{
		ID: "4f9d0c6e2b7a4e51a3c8d2f1e0b9a876", Receiver: "ops", Status: notify.StatusFiring, Reason: notify.ReasonNew,
		Kind: health.KindPredictedBreak, Severity: health.SeverityCritical, CreatedAt: Now, Now: Now,
		Alerts: []notify.Alert{
			{Key: notify.AlertKey(f1), Status: notify.StatusFiring, Severity: health.SeverityCritical, Finding: f1, StartsAt: Now.Add(-2 * time.Hour)},
			{Key: notify.AlertKey(f2), Status: notify.StatusFiring, Severity: health.SeverityCritical, Finding: f2, StartsAt: Now.Add(-1 * time.Hour)},
		},
	}
}

// Resolved is the end of the first tenant's alert, threading under Firing.
func Resolved() *notify.Message {
	fm := Firing()
	a := fm.Alerts[0]
	a.Status = notify.StatusResolved
	a.EndsAt = Now.Add(3 * time.Hour)
	return &notify.Message{
		ID: "5e0a1d7f3c8b4f62b4d9e3a2f1c0ba98", Receiver: "ops", Status: notify.StatusResolved, Reason: notify.ReasonResolved,
		Kind: a.Finding.Kind, Severity: a.Severity, CreatedAt: a.EndsAt, Now: a.EndsAt, ThreadOf: fm.ID,
		Alerts: []notify.Alert{a},
	}
}
