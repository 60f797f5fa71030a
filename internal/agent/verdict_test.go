package agent

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// TestSavedVerdictDerivesTheSameFindings: a restarted daemon must derive
// exactly the probe findings the running one had, from the persisted
// verdict alone (it once derived none, and failing tenants turned healthy).
func TestSavedVerdictDerivesTheSameFindings(t *testing.T) {
	at := time.Date(2026, 11, 27, 13, 39, 47, 0, time.UTC)
	clocks := probe.Clocks{LastRedemption: at.Add(-2 * time.Second)}
	for _, u := range []probe.Update{
		{State: probe.StateFailing, Result: probe.Result{Time: at, Outcome: probe.OutcomeDefinitive, Message: "The user account is disabled.",
			Diagnosis: probe.Diagnosis{Codes: []int{50057}, Cause: probe.CauseAccountDisabled, Definitive: true, Explanation: "The service account is disabled.",
				Remediation: "Enable the account.", Values: map[string]string{"correlationId": "c0ffee", "traceId": "7ace"}}}},
		{State: probe.StateUnreachable, ConsecutiveTransient: 4, TransientSince: at.Add(-time.Hour),
			Result: probe.Result{Time: at, Outcome: probe.OutcomeTransient, Message: "connection reset",
				Diagnosis: probe.Diagnosis{Codes: []int{}, Cause: probe.CauseTransient, Transient: true, Values: map[string]string{}}}},
		{State: probe.StateHealthy, Result: probe.Result{Time: at, Outcome: probe.OutcomeOK}},
	} {
		u.TenantID, u.Name, u.Result.TenantID, u.Result.Clocks = "t1", "Contoso", "t1", clocks
		raw, err := json.Marshal(healthRecord{LastVerdict: saveVerdict(u)})
		if err != nil {
			t.Fatal(err)
		}
		var rec healthRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
		back := rec.LastVerdict.update("t1", "Contoso", clocks)
		if got, want := back.Findings(), u.Findings(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: findings after the round trip\n got %+v\nwant %+v", u.State, got, want)
		}
		if back.State != u.State || back.Result.Clocks != clocks {
			t.Errorf("%s: state %s, clocks %+v after the round trip", u.State, back.State, back.Result.Clocks)
		}
	}
	if saveVerdict(probe.Update{}) != nil {
		t.Error("a tenant never probed saved a verdict")
	}
}
