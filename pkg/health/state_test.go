package health

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestBuildDerivesState(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	probed := ProbeView{Enrolled: true, Probed: true, LastRefresh: now}
	sif := Finding{TenantID: "t", Kind: KindPredictedBreak, Severity: SeverityWarning, Cause: "ca_sign_in_frequency",
		PredictedAt: now.Add(48 * time.Hour), Policies: []PolicyRef{{ID: "p1", DisplayName: "SIF 7d"}}, Summary: "breaks in 2 d"}
	pwd := Finding{TenantID: "t", Kind: KindPredictedBreak, Severity: SeverityInfo, Cause: "password_expired",
		PredictedAt: now.Add(24 * time.Hour)}
	failing := Finding{TenantID: "t", Kind: KindTokenFailing, Severity: SeverityCritical, Cause: "ca_blocked",
		Policies: []PolicyRef{{ID: "p9", DisplayName: "Block"}}}
	unreach := Finding{TenantID: "t", Kind: KindTenantUnreachable, Severity: SeverityWarning, Cause: "transient"}

	cases := []struct {
		name      string
		pv        ProbeView
		fs        []Finding
		state     State
		cause     string
		predicted time.Time
	}{
		{"not enrolled", ProbeView{}, nil, StatePending, "", time.Time{}},
		{"enrolled not probed", ProbeView{Enrolled: true}, nil, StatePending, "", time.Time{}},
		{"healthy", probed, nil, StateHealthy, "", time.Time{}},
		{"info only stays healthy", probed, []Finding{pwd}, StateHealthy, "", now.Add(24 * time.Hour)},
		{"warning", probed, []Finding{pwd, sif}, StateWarning, "ca_sign_in_frequency", now.Add(24 * time.Hour)},
		{"failing wins", probed, []Finding{sif, failing, unreach}, StateFailing, "ca_blocked", now.Add(48 * time.Hour)},
		{"unreachable", probed, []Finding{unreach}, StateUnreachable, "transient", time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := Build("t", "Tenant", c.pv, c.fs)
			if st.State != c.state || st.Cause != c.cause || !st.PredictedBreak.Equal(c.predicted) {
				t.Fatalf("got state=%s cause=%q predicted=%v; want %s %q %v", st.State, st.Cause, st.PredictedBreak, c.state, c.cause, c.predicted)
			}
		})
	}
}

func TestStatusJSONShapeIsStable(t *testing.T) {
	st := Build("t1", "Contoso", ProbeView{}, nil)
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{`"id":"t1"`, `"name":"Contoso"`, `"state":"pending"`, `"policies":[]`, `"findings":[]`} {
		if !strings.Contains(got, want) {
			t.Errorf("status JSON %s lacks %s", got, want)
		}
	}
	if strings.Contains(got, "lastRefresh") {
		t.Errorf("zero lastRefresh should be omitted: %s", got)
	}
}

func TestExitCode(t *testing.T) {
	if ExitCode([]State{StateHealthy, StatePending}) != 0 ||
		ExitCode([]State{StateHealthy, StateWarning}) != 1 ||
		ExitCode([]State{StateUnreachable}) != 1 ||
		ExitCode([]State{StateWarning, StateFailing, StateHealthy}) != 2 {
		t.Fatal("exit codes do not follow 0 healthy / 1 warning / 2 failing")
	}
}
