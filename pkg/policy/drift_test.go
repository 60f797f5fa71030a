package policy

import (
	"slices"
	"testing"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func TestDrift(t *testing.T) {
	prev, err := LoadPaths("testdata/drift/previous.json")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := LoadPaths("testdata/drift/current.json")
	if err != nil {
		t.Fatal(err)
	}
	s := baseSubject()
	s.AuthFlow = FlowDeviceCode
	fs := Drift(DriftInput{TenantID: "t1", TenantName: "Contoso", Previous: prev.Policies, Current: cur.Policies,
		Subject: s, Now: ts("2026-11-21T09:00:00Z")})
	type got struct {
		id, summary string
		sev         health.Severity
	}
	var gots []got
	for _, f := range fs {
		if f.Kind != health.KindPolicyDrift || !f.DetectedAt.Equal(ts("2026-11-21T09:00:00Z")) {
			t.Errorf("bad finding %+v", f)
		}
		gots = append(gots, got{f.Policies[0].ID, f.Summary, f.Severity})
	}
	want := []got{
		{"d0000000-0000-4000-8000-000000000001", "Policy 'Require MFA for all users' changed: it now breaks the delegated token at its next refresh (breaks_now, was none)", health.SeverityCritical},
		{"d0000000-0000-4000-8000-000000000002", "Policy 'Sign-in frequency' changed: sign-in frequency shortened from 7d to 1d", health.SeverityWarning},
		{"d0000000-0000-4000-8000-000000000004", "Policy 'Block device code flow (report-only)' changed: it would break the delegated token once enabled (report-only, breaks_now)", health.SeverityWarning},
	}
	if !slices.Equal(gots, want) {
		t.Fatalf("findings:\n got %+v\nwant %+v", gots, want)
	}
	mfa := fs[0]
	for _, e := range []string{
		`modified 2026-11-21T08:12:00Z; who changed it is in the directory audit log (category Policy, activity "Update conditional access policy")`,
		`conditions.users.excludeUsers: ["b7e2c7c5-1f1e-4d1b-8a2c-9d6b2f1e0a33","5d1a9f0e-3c2b-4a7d-9e61-2f8b7c4d1a90"] -> ["b7e2c7c5-1f1e-4d1b-8a2c-9d6b2f1e0a33"]`,
	} {
		if !slices.Contains(mfa.Evidence, e) {
			t.Errorf("evidence lacks %q: %q", e, mfa.Evidence)
		}
	}
	if slices.ContainsFunc(mfa.Evidence, func(e string) bool { return len(e) > 16 && e[:16] == "modifiedDateTime" }) {
		t.Errorf("metadata field in diff: %q", mfa.Evidence)
	}
	if got := DiffPolicies(&cur.Policies[1], &cur.Policies[1]); len(got) != 0 {
		t.Errorf("self diff = %q", got)
	}
	if !slices.Contains(fs[1].Evidence, "sessionControls.signInFrequency.value: 7 -> 1") {
		t.Errorf("sif diff missing: %q", fs[1].Evidence)
	}
	if !slices.Contains(fs[2].Evidence, "new policy (not in the stored snapshot)") {
		t.Errorf("new policy evidence missing: %q", fs[2].Evidence)
	}
}
