package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
)

func TestRenderLivePolicies(t *testing.T) {
	yes, no := true, false
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	res := localapi.PoliciesResponse{
		TenantID: "22222222-2222-4222-8222-222222222222",
		ReadAt:   now.Add(-5 * time.Minute),
		Policies: []localapi.PolicyEvaluation{
			{ID: "p1", DisplayName: "Sign-in frequency 7 days", State: "enabled", Applies: &yes, Impact: "breaks_after",
				SignInFrequencySeconds: 7 * 86400, Reasons: []string{"includes All users"},
				Remediation: "Exclude the service account\nEquivalent Graph request: PATCH /identity/conditionalAccess/policies/p1"},
			{ID: "p2", DisplayName: "Require MFA", State: "enabledForReportingButNotEnforced", Applies: nil, Impact: "report_only_would_break"},
			{ID: "p3", DisplayName: "Block legacy auth", State: "enabled", Applies: &no, Impact: "none", Reasons: []string{"client app type not included"}},
		},
		Problems: []string{"named locations: 403 Forbidden"},
	}
	var b bytes.Buffer
	renderLivePolicies(&b, res, now)
	out := b.String()
	wantLines := []string{
		"Tenant 22222222-2222-4222-8222-222222222222: 3 policies, read 2026-11-27 11:55 UTC (5 min ago).",
		"IMPACT                   APPLIES  SIF       STATE        POLICY",
		"breaks_after             true     7d        enabled      Sign-in frequency 7 days",
		"report_only_would_break  unknown  -         reportOnly   Require MFA",
		"none                     false    -         enabled      Block legacy auth",
		"Sign-in frequency 7 days [breaks_after] p1",
		"    - includes All users",
		"    > Exclude the service account",
		"    > Equivalent Graph request: PATCH /identity/conditionalAccess/policies/p1",
		"Require MFA [report_only_would_break] p2",
		"Problems reading the tenant (the evaluation may be incomplete):",
		"  ! named locations: 403 Forbidden",
	}
	lines := strings.Split(out, "\n")
	has := map[string]bool{}
	for _, l := range lines {
		has[strings.TrimRight(l, " ")] = true
		if len(l) > termWidth {
			t.Errorf("line wider than %d columns: %q", termWidth, l)
		}
	}
	for _, w := range wantLines {
		if !has[w] {
			t.Errorf("output lacks the line %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "[none] p3") {
		t.Errorf("a policy without impact got a detail section:\n%s", out)
	}
}

func TestRenderLivePoliciesNotReadYet(t *testing.T) {
	var b bytes.Buffer
	renderLivePolicies(&b, localapi.PoliciesResponse{TenantID: "t1", Policies: []localapi.PolicyEvaluation{}, Problems: []string{}}, time.Now())
	if got, want := b.String(), "Tenant t1: the daemon has not read its policies yet.\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
