package notify

import (
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// TestMessage is the sample alert `tokenhealth notify test` sends: a
// realistic prediction, clearly marked as a test, for receiver.
func TestMessage(receiver string, now time.Time) *Message {
	now = now.UTC()
	f := health.Finding{
		TenantID:    "00000000-0000-0000-0000-000000000000",
		TenantName:  "Example tenant (test alert)",
		Kind:        health.KindPredictedBreak,
		Severity:    health.SeverityWarning,
		Cause:       "ca_sign_in_frequency",
		Summary:     "TEST ALERT: the delegated token would break when the 7-day sign-in frequency expires. No action needed.",
		Policies:    []health.PolicyRef{{ID: "11111111-1111-1111-1111-111111111111", DisplayName: "Example: sign-in frequency 7 days", State: "enabled"}},
		Evidence:    []string{"This is a sample sent by `tokenhealth notify test` to check the receiver."},
		PredictedAt: now.Add(28 * time.Hour),
		Remediation: []string{"Nothing to do: this confirms that alerts reach this receiver."},
		DetectedAt:  now,
	}
	return &Message{
		ID: "test-" + newMessageID(), Receiver: receiver, Status: StatusFiring, Reason: ReasonTest,
		Kind: f.Kind, Severity: f.Severity, CreatedAt: now, Now: now,
		Alerts: []Alert{{Key: AlertKey(f), Status: StatusFiring, Severity: f.Severity, Finding: f, StartsAt: now}},
	}
}
