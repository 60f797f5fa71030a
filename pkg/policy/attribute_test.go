package policy

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func loadSignInFixture(t *testing.T) []SignIn {
	t.Helper()
	b, err := os.ReadFile("testdata/signins/noninteractive-70043.json")
	if err != nil {
		t.Fatal(err)
	}
	si, err := LoadSignIns(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(si) != 2 || si[0].Status.ErrorCode != 70043 || si[0].SessionLifetimePolicies[0].ExpirationRequirement != "signInFrequencyPeriodicReauthentication" {
		t.Fatalf("sign-in fixture decoded wrongly: %+v", si)
	}
	return si
}

func attributionNames(a Attribution) []string {
	var out []string
	for _, p := range a.Policies {
		out = append(out, p.Policy.DisplayName)
	}
	return out
}

func TestAttribute(t *testing.T) {
	l := loadTestTenant(t)
	signIns := loadSignInFixture(t)
	evals := Evaluate(l.Policies, l.Locations, baseSubject())
	untrusted := baseSubject()
	untrusted.IP = "198.51.100.7"
	untrustedEvals := Evaluate(l.Policies, l.Locations, untrusted)
	groupsUnknown := baseSubject()
	groupsUnknown.GroupIDs = nil
	unknownEvals := Evaluate(l.Policies, l.Locations, groupsUnknown)

	tests := []struct {
		name     string
		f        Failure
		signIns  []SignIn
		evals    []Evaluation
		source   string
		policies []string
		evidence string
	}{
		{
			name:     "sign-in log by correlation id",
			f:        Failure{At: ts("2026-11-25T09:41:09Z"), Codes: []int{70043}, CorrelationID: "0F3C1D2E-aaaa-4b4b-9c9c-123456789abc", MaxLifetimeSeconds: 604800},
			signIns:  signIns,
			evals:    evals,
			source:   EvidenceSignInLog,
			policies: []string{"Sign-in frequency 7 days"},
			evidence: "session lifetime policy: signInFrequencyPeriodicReauthentication (The user was required to sign in again according to the sign-in frequency policy)",
		},
		{
			name:     "sign-in log by code and time",
			f:        Failure{At: ts("2026-11-25T09:44:00Z"), Codes: []int{70043}, AppID: platformApp},
			signIns:  signIns,
			evals:    evals,
			source:   EvidenceSignInLog,
			policies: []string{"Sign-in frequency 7 days"},
			evidence: "sign-in log entry 66ea54eb-6301-4ee5-be62-ff5a759b0100 at 2026-11-25T09:41:07Z (non-interactive, app " + platformApp,
		},
		{
			name:     "outside the time window falls back to the 70043 limit",
			f:        Failure{At: ts("2026-11-25T09:50:00Z"), Codes: []int{70043}, MaxLifetimeSeconds: 604800, IssuedAt: ts("2026-11-18T09:30:00Z")},
			signIns:  signIns,
			evals:    evals,
			source:   EvidenceErrorValues,
			policies: []string{"Sign-in frequency 7 days"},
			evidence: "AADSTS70043 limit 604800 s (7d); token issued 2026-11-18T09:30:00Z, so it expired at 2026-11-25T09:30:00Z",
		},
		{
			name:     "70043 limit with unknown applicability",
			f:        Failure{At: ts("2026-11-25T09:50:00Z"), Codes: []int{70043}, MaxLifetimeSeconds: 604800},
			evals:    unknownEvals,
			source:   EvidenceErrorValues,
			policies: []string{"Sign-in frequency 7 days"},
			evidence: "no sign-in log entries available",
		},
		{
			name:     "limit matching no policy falls back to local evaluation",
			f:        Failure{At: ts("2026-11-25T09:50:00Z"), Codes: []int{70043}, MaxLifetimeSeconds: 82800},
			evals:    evals,
			source:   EvidenceLocalEvaluation,
			policies: []string{"Sign-in frequency 7 days"},
			evidence: "no enabled policy that could apply has a sign-in frequency of exactly this limit",
		},
		{
			name:     "block 53003 by local evaluation",
			f:        Failure{At: ts("2026-11-25T09:50:00Z"), Codes: []int{53003}},
			evals:    untrustedEvals,
			source:   EvidenceLocalEvaluation,
			policies: []string{"Block access outside trusted locations"},
		},
		{
			name:     "remembered MFA expiry names no policy",
			f:        Failure{At: ts("2026-11-25T09:50:00Z"), Codes: []int{50078}},
			evals:    evals,
			source:   EvidenceNone,
			evidence: "AADSTS50078 (presented MFA expired) comes from the remembered-MFA period",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Attribute(tc.f, tc.signIns, tc.evals)
			if a.EvidenceSource != tc.source || !slices.Equal(attributionNames(a), tc.policies) {
				t.Fatalf("got %s %q, want %s %q\nevidence: %q", a.EvidenceSource, attributionNames(a), tc.source, tc.policies, a.Evidence)
			}
			if tc.evidence != "" && !slices.ContainsFunc(a.Evidence, func(e string) bool { return strings.HasPrefix(e, tc.evidence) }) {
				t.Errorf("evidence lacks %q: %q", tc.evidence, a.Evidence)
			}
		})
	}
}

func TestAttributeBlockFromSignInLogAndShapes(t *testing.T) {
	entry := []byte(`[{"id":"s1","createdDateTime":"2026-11-25T10:00:00Z","appId":"` + platformApp + `","correlationId":"c-1","isInteractive":false,
		"status":{"errorCode":53003,"failureReason":"Access has been blocked by Conditional Access policies.\u001b[2J"},
		"appliedConditionalAccessPolicies":[
			{"id":"a1f0c7d2-1111-4c4e-9a0b-000000000008","displayName":"Block access outside trusted locations","enforcedGrantControls":["Block"],"enforcedSessionControls":[],"result":"failure"},
			{"id":"x","displayName":"Report-only block","enforcedGrantControls":["Block"],"result":"reportOnlyFailure"}]}]`)
	si, err := LoadSignIns(entry)
	if err != nil {
		t.Fatal(err)
	}
	a := Attribute(Failure{At: ts("2026-11-25T10:00:30Z"), Codes: []int{53003}, AppID: platformApp}, si, nil)
	if a.EvidenceSource != EvidenceSignInLog || len(a.Policies) != 1 ||
		a.Policies[0].Why != "sign-in log: policy result failure, grant controls Block" {
		t.Fatalf("attribution = %+v", a)
	}
	if strings.Contains(a.Evidence[0], "\x1b") {
		t.Errorf("escape sequence in evidence: %q", a.Evidence[0])
	}
	// A single entry object and a wrong shape.
	if one, err := LoadSignIns([]byte(`{"id":"s2","status":{"errorCode":0}}`)); err != nil || len(one) != 1 || one[0].ID != "s2" {
		t.Errorf("single entry: %v %v", one, err)
	}
	if _, err := LoadSignIns([]byte(`"nope"`)); err == nil {
		t.Error("scalar accepted as a sign-in log")
	}
	if _, err := LoadSignIns([]byte(`[{"createdDateTime":"yesterday"}]`)); err == nil {
		t.Error("bad createdDateTime accepted")
	}
}
