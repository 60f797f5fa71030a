package probe

import (
	"reflect"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func TestUpdateFindings(t *testing.T) {
	at := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	failed := Result{Time: at, Outcome: OutcomeDefinitive, Diagnosis: Diagnosis{
		Codes: []int{70043}, Cause: CauseSignInFrequency, Definitive: true,
		Explanation: "A sign-in frequency policy expired the session. It began long ago.",
		Remediation: "Exclude the account from the policy, then re-enroll.",
		Values:      map[string]string{ValueMaxLifetimeSeconds: "43200", ValueTraceID: "t-1", ValueCorrelationID: "c-1"},
	}}
	tests := []struct {
		name string
		upd  Update
		want []health.Finding
	}{
		{"healthy", Update{TenantID: "t", Name: "T", State: StateHealthy, Result: Result{Time: at, Outcome: OutcomeOK}}, nil},
		{"failing", Update{TenantID: "t", Name: "T", State: StateFailing, Result: failed}, []health.Finding{{
			TenantID: "t", TenantName: "T", Kind: health.KindTokenFailing, Severity: health.SeverityCritical,
			Cause: "ca_sign_in_frequency", Summary: "The canary token no longer redeems: A sign-in frequency policy expired the session.",
			Evidence:    []string{"AADSTS70043 at 2026-02-01T10:00:00Z", "maximum lifetime (s): 43200", "trace id: t-1", "correlation id: c-1"},
			Remediation: []string{"Exclude the account from the policy, then re-enroll."}, DetectedAt: at,
		}}},
		{"unreachable", Update{TenantID: "t", Name: "T", State: StateUnreachable, ConsecutiveTransient: 4, TransientSince: at.Add(-time.Hour),
			Result: Result{Time: at, Outcome: OutcomeTransient, Message: "timeout"}}, []health.Finding{{
			TenantID: "t", TenantName: "T", Kind: health.KindTenantUnreachable, Severity: health.SeverityWarning, Cause: "transient",
			Summary:     "4 token requests in a row failed transiently since 2026-02-01T09:00:00Z; the token itself was not judged",
			Evidence:    []string{"timeout"},
			Remediation: []string{"Check the network path from the agent to the identity provider (proxy, firewall, DNS, TLS inspection). The agent keeps retrying with backoff."},
			DetectedAt:  at,
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.upd.Findings(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Findings() = %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestIdPFinding(t *testing.T) {
	if _, ok := (IdPStatus{Probed: 10, Transient: 1}).Finding(); ok {
		t.Error("finding without an outage")
	}
	since := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	f, ok := IdPStatus{Unreachable: true, Since: since, Probed: 10, Transient: 9}.Finding()
	if !ok || f.Kind != health.KindIdPUnreachable || f.DetectedAt != since ||
		f.Summary != "The identity provider is unreachable: 9 of the 10 tenants probed recently failed transiently. Per-tenant transient failures are held back while this lasts." {
		t.Errorf("finding = %+v", f)
	}
}
