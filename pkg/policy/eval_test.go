package policy

import (
	"slices"
	"strings"
	"testing"
)

const (
	svcUserID   = "5d1a9f0e-3c2b-4a7d-9e61-2f8b7c4d1a90"
	svcUPN      = "svc-sync@contoso.onmicrosoft.com"
	breakGlass  = "b7e2c7c5-1f1e-4d1b-8a2c-9d6b2f1e0a33"
	allStaffID  = "0b7c0c2e-7e2a-4f43-9b4f-6a1f4d2e8c11"
	globalAdmin = "62e90394-69f5-4237-9190-012177145e10"
	platformApp = "9e0d6a51-7c3b-4e4f-a2b1-5f6c7d8e9f00"
	exchangeApp = "00000002-0000-0ff1-ce00-000000000000"
	azurePortal = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
)

func loadTestTenant(t testing.TB) Loaded {
	t.Helper()
	l, err := LoadPaths("testdata/policies", "testdata/namedLocations.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Skipped) > 0 {
		t.Fatalf("unexpected skipped inputs: %v", l.Skipped)
	}
	return l
}

// baseSubject is the platform server: Linux, egress from the trusted head
// office range, enrolled with authorization code, no MFA claim.
func baseSubject() Subject {
	return Subject{
		UserID:          svcUserID,
		UPN:             svcUPN,
		GroupIDs:        []string{allStaffID},
		RoleTemplateIDs: []string{},
		ClientAppID:     platformApp,
		IP:              "203.0.113.10",
		Country:         "DE",
		AuthFlow:        FlowAuthorizationCode,
		Names:           map[string]string{allStaffID: "All staff"},
	}
}

func findEval(t *testing.T, evs []Evaluation, name string) Evaluation {
	t.Helper()
	for _, e := range evs {
		if e.Policy.DisplayName == name {
			return e
		}
	}
	t.Fatalf("policy %q not evaluated", name)
	return Evaluation{}
}

func TestEvaluateConditions(t *testing.T) {
	l := loadTestTenant(t)
	eng := Compile(l.Policies, l.Locations)
	tests := []struct {
		name    string
		policy  string
		mutate  func(*Subject)
		applies Tri
		impact  Impact
		ifApp   Impact
		sif     int64
		reason  string // substring of one reason
		causes  []Cause
	}{
		{"mfa without claim breaks", "Require MFA for all users", nil, True, ImpactBreaksNow, ImpactBreaksNow, 0, "user included by All users", []Cause{CauseMFA}},
		{"mfa with claim is fine", "Require MFA for all users", func(s *Subject) { s.TokenHasMFA = true }, True, ImpactNone, ImpactNone, 0, "resource included: All resources", nil},
		{"excluded user wins over All", "Require MFA for all users", func(s *Subject) { s.UserID = breakGlass }, False, ImpactNone, ImpactBreaksNow, 0, "user excluded by user id " + breakGlass, nil},
		{"sif by group", "Sign-in frequency 7 days", nil, True, ImpactBreaksAfter, ImpactBreaksAfter, 604800, "user included by group 'All staff' (" + allStaffID + ")", []Cause{CauseSignInFrequency}},
		{"sif groups unknown", "Sign-in frequency 7 days", func(s *Subject) { s.GroupIDs = nil }, Unknown, ImpactUnknown, ImpactBreaksAfter, 604800, "group membership not known", nil},
		{"sif not a member", "Sign-in frequency 7 days", func(s *Subject) { s.GroupIDs = []string{} }, False, ImpactNone, ImpactBreaksAfter, 604800, "user not included", nil},
		{"legacy auth does not cover OAuth", "Block legacy authentication", nil, False, ImpactNone, ImpactBreaksNow, 0, "do not include mobileAppsAndDesktopClients", nil},
		{"legacy auth covers other", "Block legacy authentication", func(s *Subject) { s.ClientAppType = "other" }, True, ImpactBreaksNow, ImpactBreaksNow, 0, "client app type other included", []Cause{CauseBlock}},
		{"device code block, auth code token", "Block device code flow", nil, False, ImpactNone, ImpactBreaksNow, 0, "not obtained by deviceCodeFlow", nil},
		{"device code block, device code token", "Block device code flow", func(s *Subject) { s.AuthFlow = FlowDeviceCode }, True, ImpactBreaksNow, ImpactBreaksNow, 0, "protocol-tracked", []Cause{CauseBlock}},
		{"device code block, flow unknown", "Block device code flow", func(s *Subject) { s.AuthFlow = "" }, Unknown, ImpactUnknown, ImpactBreaksNow, 0, "enrollment flow is not known", nil},
		{"admins only, not admin", "Require compliant or hybrid joined device for admins", nil, False, ImpactNone, ImpactBreaksNow, 0, "user not included", nil},
		{"admins, global admin", "Require compliant or hybrid joined device for admins", func(s *Subject) { s.RoleTemplateIDs = []string{globalAdmin} }, True, ImpactBreaksNow, ImpactBreaksNow, 0, "role " + globalAdmin, []Cause{CauseCompliantDevice, CauseDomainJoinedDevice}},
		{"roles unknown", "Require compliant or hybrid joined device for admins", func(s *Subject) { s.RoleTemplateIDs = nil }, Unknown, ImpactUnknown, ImpactBreaksNow, 0, "role membership not known", nil},
		{"admin portals skip graph", "Admin portals: reauthenticate every time", func(s *Subject) { s.TokenHasMFA = true }, False, ImpactNone, ImpactBreaksEveryRefresh, 0, "not API tokens for Microsoft Graph", nil},
		{"admin portals cover azure portal", "Admin portals: reauthenticate every time", func(s *Subject) { s.TokenHasMFA = true; s.ResourceAppID = azurePortal }, True, ImpactBreaksEveryRefresh, ImpactBreaksEveryRefresh, 0, "Azure portal is a Microsoft admin portal", []Cause{CauseSIFEveryTime}},
		{"report-only sif", "Sign-in frequency 12 hours (report-only)", nil, True, ImpactReportOnlyWouldBreak, ImpactBreaksAfter, 43200, "client app type mobileAppsAndDesktopClients included", []Cause{CauseSignInFrequency}},
		{"trusted IPv4 excluded", "Block access outside trusted locations", nil, False, ImpactNone, ImpactBreaksNow, 0, "location excluded: IP 203.0.113.10 is in named location 'Head office and datacenter'", nil},
		{"trusted IPv6 excluded", "Block access outside trusted locations", func(s *Subject) { s.IP = "2001:db8:10::5" }, False, ImpactNone, ImpactBreaksNow, 0, "range 2001:db8:10::/48", nil},
		{"untrusted IP blocked", "Block access outside trusted locations", func(s *Subject) { s.IP = "198.51.100.7" }, True, ImpactBreaksNow, ImpactBreaksNow, 0, "location included (any location) and not excluded: IP 198.51.100.7 is in no trusted named location (legacy MFA trusted IPs are not readable and assumed absent)", []Cause{CauseBlock}},
		{"IP unknown", "Block access outside trusted locations", func(s *Subject) { s.IP = "" }, Unknown, ImpactUnknown, ImpactBreaksNow, 0, "egress IP is not known", nil},
		{"IP malformed", "Block access outside trusted locations", func(s *Subject) { s.IP = "300.1.1.1" }, Unknown, ImpactUnknown, ImpactBreaksNow, 0, "is not an IP address", nil},
		{"country allowed", "Block sign-ins from blocked countries", nil, False, ImpactNone, ImpactBreaksNow, 0, "country DE is not in named location 'Blocked countries'", nil},
		{"country blocked", "Block sign-ins from blocked countries", func(s *Subject) { s.Country = "kp" }, True, ImpactBreaksNow, ImpactBreaksNow, 0, "country KP is in", []Cause{CauseBlock}},
		{"country unknown", "Block sign-ins from blocked countries", func(s *Subject) { s.Country = "" }, Unknown, ImpactUnknown, ImpactBreaksNow, 0, "country of the egress IP is not known", nil},
		{"linux excluded from unknown-platform block", "Block access for unknown or unsupported device platform", nil, False, ImpactNone, ImpactBreaksNow, 0, "device platform linux excluded", nil},
		{"unsupported platform blocked", "Block access for unknown or unsupported device platform", func(s *Subject) { s.DevicePlatform = "unsupported" }, True, ImpactBreaksNow, ImpactBreaksNow, 0, "device platform unsupported included", []Cause{CauseBlock}},
		{"office365 for graph is unknown", "Phishing-resistant MFA for Office 365", nil, Unknown, ImpactUnknown, ImpactBreaksNow, 0, "audience reporting", nil},
		{"office365 for exchange applies", "Phishing-resistant MFA for Office 365", func(s *Subject) { s.ResourceAppID = exchangeApp }, True, ImpactBreaksNow, ImpactBreaksNow, 0, "Office 365 Exchange Online is in the Office 365 app suite", []Cause{CauseAuthStrength}},
		{"strength method unknown with MFA", "Phishing-resistant MFA for Office 365", func(s *Subject) { s.ResourceAppID = exchangeApp; s.TokenHasMFA = true }, True, ImpactUnknown, ImpactUnknown, 0, "resource included", nil},
		{"user risk unknown", "Require password change for high-risk users", nil, Unknown, ImpactUnknown, ImpactBreaksNow, 0, "user risk condition (high) and the account's user risk is not known", nil},
		{"user risk high", "Require password change for high-risk users", func(s *Subject) { s.UserRisk = "high" }, True, ImpactBreaksNow, ImpactBreaksNow, 0, "user risk high is in scope", []Cause{CauseMFA, CausePasswordChange}},
		{"user risk low", "Require password change for high-risk users", func(s *Subject) { s.UserRisk = "low" }, False, ImpactNone, ImpactBreaksNow, 0, "user risk low is not in (high)", nil},
		{"device filter exclude eq: unregistered not excluded", "Block non-SAW devices for admins", func(s *Subject) { s.RoleTemplateIDs = []string{globalAdmin} }, True, ImpactBreaksNow, ImpactBreaksNow, 0, "does not exclude an unregistered device", []Cause{CauseBlock}},
		{"disabled is none", "Old block policy (disabled)", nil, True, ImpactNone, ImpactBreaksNow, 0, "policy is disabled", nil},
		{"future values are unknown", "Policy with future enum values", nil, Unknown, ImpactUnknown, ImpactUnknown, 0, "authentication flow value unknownFutureValue is unknown", nil},
		{"user action is not a refresh", "Securing security info registration", nil, False, ImpactNone, ImpactBreaksNow, 0, "a token refresh is not a user action", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := baseSubject()
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			ev := findEval(t, eng.Evaluate(s), tc.policy)
			if ev.Applies != tc.applies || ev.Impact != tc.impact || ev.ImpactIfApplies != tc.ifApp || ev.SignInFrequencySeconds != tc.sif {
				t.Fatalf("got applies=%v impact=%s ifApplies=%s sif=%d, want %v %s %s %d\nreasons: %q\ncontrols: %q",
					ev.Applies, ev.Impact, ev.ImpactIfApplies, ev.SignInFrequencySeconds, tc.applies, tc.impact, tc.ifApp, tc.sif, ev.Reasons, ev.Controls)
			}
			if !slices.ContainsFunc(ev.Reasons, func(r string) bool { return strings.Contains(r, tc.reason) }) {
				t.Errorf("no reason contains %q: %q", tc.reason, ev.Reasons)
			}
			if tc.causes != nil && !slices.Equal(ev.Causes, tc.causes) {
				t.Errorf("causes = %v, want %v", ev.Causes, tc.causes)
			}
		})
	}
}
