package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// policyJSONFor builds one enabled policy around the given fragments.
func inlinePolicy(t *testing.T, conditions, grant, session string) []Policy {
	t.Helper()
	if grant == "" {
		grant = "null"
	}
	if session == "" {
		session = "null"
	}
	doc := `{"id":"p-1","displayName":"Inline","state":"enabled","conditions":` + conditions +
		`,"grantControls":` + grant + `,"sessionControls":` + session + `}`
	l := LoadBytes("inline.json", []byte(doc))
	if len(l.Policies) != 1 {
		t.Fatalf("inline policy not loaded: %v", l.Skipped)
	}
	return l.Policies
}

const allUsersAllApps = `"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}`

func TestEvaluateMoreConditions(t *testing.T) {
	l := loadTestTenant(t)
	block := `{"operator":"OR","builtInControls":["block"]}`
	tests := []struct {
		name              string
		conditions, grant string
		session           string
		mutate            func(*Subject)
		applies           Tri
		impact            Impact
		reason            string
	}{
		{"named location missing", `{` + allUsersAllApps + `,"locations":{"includeLocations":["9999"]}}`, block, "", nil,
			Unknown, ImpactUnknown, "location condition unknown: named location 9999 not found"},
		{"legacy MFA trusted IPs excluded", `{` + allUsersAllApps + `,"locations":{"includeLocations":["All"],"excludeLocations":["00000000-0000-0000-0000-000000000000"]}}`, block, "", nil,
			Unknown, ImpactUnknown, "legacy MFA trusted IPs cannot be read through Graph"},
		{"untrusted named location included", `{` + allUsersAllApps + `,"locations":{"includeLocations":["3c1e6f0a-2222-4b5c-8d9e-00000000b0b0"]}}`, block, "", func(s *Subject) { s.IP = "198.51.100.100" },
			True, ImpactBreaksNow, "IP 198.51.100.100 is in named location 'Partner VPN (untrusted)'"},
		{"excluded group wins", `{"users":{"includeUsers":["All"],"excludeGroups":["0b7c0c2e-7e2a-4f43-9b4f-6a1f4d2e8c11"]},"applications":{"includeApplications":["All"]}}`, block, "", nil,
			False, ImpactNone, "user excluded by group 'All staff' (0b7c0c2e-7e2a-4f43-9b4f-6a1f4d2e8c11)"},
		{"exclusion unknown", `{"users":{"includeUsers":["All"],"excludeGroups":["0b7c0c2e-7e2a-4f43-9b4f-6a1f4d2e8c11"]},"applications":{"includeApplications":["All"]}}`, block, "", func(s *Subject) { s.GroupIDs = nil },
			Unknown, ImpactUnknown, "user included by All users, but exclusion unknown: group membership not known"},
		{"guests only, member account", `{"users":{"includeUsers":["GuestsOrExternalUsers"]},"applications":{"includeApplications":["All"]}}`, block, "", nil,
			False, ImpactNone, "user not included"},
		{"guests only, guest account", `{"users":{"includeUsers":["GuestsOrExternalUsers"]},"applications":{"includeApplications":["All"]}}`, block, "", func(s *Subject) { s.IsGuest = true },
			True, ImpactBreaksNow, "GuestsOrExternalUsers (the account is a guest)"},
		{"includeUsers None", `{"users":{"includeUsers":["None"]},"applications":{"includeApplications":["All"]}}`, block, "", nil,
			False, ImpactNone, "policy includes no users (None)"},
		{"specific user id", `{"users":{"includeUsers":["` + svcUserID + `"]},"applications":{"includeApplications":["All"]}}`, block, "", nil,
			True, ImpactBreaksNow, "user included by user id " + svcUserID},
		{"user id not given", `{"users":{"includeUsers":["` + svcUserID + `"]},"applications":{"includeApplications":["All"]}}`, block, "", func(s *Subject) { s.UserID = "" },
			Unknown, ImpactUnknown, "user id not given"},
		{"graph excluded by id", `{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"],"excludeApplications":["00000003-0000-0000-c000-000000000000"]}}`, block, "", nil,
			False, ImpactNone, "resource excluded: Microsoft Graph listed by app id"},
		{"office365 excluded for graph", `{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"],"excludeApplications":["Office365"]}}`, block, "", nil,
			Unknown, ImpactUnknown, "resource included (All resources), but exclusion unknown: Office 365 app suite"},
		{"client app listed", `{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["` + platformApp + `"]}}`, block, "", nil,
			Unknown, ImpactUnknown, "policy lists the client app " + platformApp},
		{"other resource only", `{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["797f4846-ba00-4fd7-ba43-dac1f8f63013"]}}`, block, "", nil,
			False, ImpactNone, "resource not included: Microsoft Graph (00000003-0000-0000-c000-000000000000) is not listed"},
		{"application filter", `{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"],"applicationFilter":{"mode":"exclude","rule":"CustomSecurityAttribute.Engineering_Project -eq \"Baker\""}}}`, block, "", nil,
			Unknown, ImpactUnknown, "application filter (exclude: "},
		{"auth context", `{"users":{"includeUsers":["All"]},"applications":{"includeApplications":[],"includeAuthenticationContextClassReferences":["c1"]}}`, block, "", nil,
			False, ImpactNone, "policy targets authentication contexts (c1)"},
		{"workload identities", `{"users":{"includeUsers":["None"]},"applications":{"includeApplications":["All"]},"clientApplications":{"includeServicePrincipals":["ServicePrincipalsInMyTenant"]},"servicePrincipalRiskLevels":["high"]}`, block, "", nil,
			False, ImpactNone, "policy targets workload identities"},
		{"insider risk", `{` + allUsersAllApps + `,"insiderRiskLevels":"elevated"}`, block, "", nil,
			Unknown, ImpactUnknown, "insider risk condition (elevated)"},
		{"sign-in risk stated", `{` + allUsersAllApps + `,"signInRiskLevels":["high","medium"]}`, block, "", func(s *Subject) { s.SignInRisk = "medium" },
			True, ImpactBreaksNow, "sign-in risk medium is in scope"},
		{"unknown client app type value", `{` + allUsersAllApps + `,"clientAppTypes":["unknownFutureValue"]}`, block, "", nil,
			Unknown, ImpactUnknown, "client app type value unknownFutureValue is unknown"},
		{"OR with satisfiable MFA", `{` + allUsersAllApps + `}`, `{"operator":"OR","builtInControls":["mfa","compliantDevice"]}`, "", func(s *Subject) { s.TokenHasMFA = true },
			True, ImpactNone, "resource included"},
		{"AND with compliant device", `{` + allUsersAllApps + `}`, `{"operator":"AND","builtInControls":["mfa","compliantDevice"]}`, "", func(s *Subject) { s.TokenHasMFA = true },
			True, ImpactBreaksNow, "resource included"},
		{"password-only strength", `{` + allUsersAllApps + `}`, `{"operator":"OR","authenticationStrength":{"id":"s1","displayName":"Password","allowedCombinations":["password"]}}`, "", nil,
			True, ImpactNone, "resource included"},
		{"built-in MFA strength with claim", `{` + allUsersAllApps + `}`, `{"operator":"OR","authenticationStrength":{"id":"00000000-0000-0000-0000-000000000002","displayName":"Multifactor authentication"}}`, "", func(s *Subject) { s.TokenHasMFA = true },
			True, ImpactNone, "resource included"},
		{"secondary-only SIF without MFA", `{` + allUsersAllApps + `}`, "", `{"signInFrequency":{"isEnabled":true,"value":4,"type":"hours","authenticationType":"secondaryAuthentication","frequencyInterval":"timeBased"}}`, nil,
			True, ImpactUnknown, "resource included"},
		{"secondary-only SIF with MFA", `{` + allUsersAllApps + `}`, "", `{"signInFrequency":{"isEnabled":true,"value":4,"type":"hours","authenticationType":"secondaryAuthentication","frequencyInterval":"timeBased"}}`, func(s *Subject) { s.TokenHasMFA = true },
			True, ImpactBreaksAfter, "resource included"},
		{"SIF unknown unit", `{` + allUsersAllApps + `}`, "", `{"signInFrequency":{"isEnabled":true,"value":4,"type":"weeks"}}`, nil,
			True, ImpactUnknown, "resource included"},
		{"disabled SIF ignored", `{` + allUsersAllApps + `}`, "", `{"signInFrequency":{"isEnabled":false,"value":1,"type":"hours"}}`, nil,
			True, ImpactNone, "resource included"},
		{"platform not included", `{` + allUsersAllApps + `,"platforms":{"includePlatforms":["android","iOS"]}}`, block, "", nil,
			False, ImpactNone, "device platform linux not included (android, iOS)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := baseSubject()
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			ev := Evaluate(inlinePolicy(t, tc.conditions, tc.grant, tc.session), l.Locations, s)[0]
			if ev.Applies != tc.applies || ev.Impact != tc.impact {
				t.Fatalf("got %v %s, want %v %s\nreasons %q\ncontrols %q", ev.Applies, ev.Impact, tc.applies, tc.impact, ev.Reasons, ev.Controls)
			}
			if !slices.ContainsFunc(ev.Reasons, func(r string) bool { return strings.Contains(r, tc.reason) }) {
				t.Errorf("no reason contains %q: %q", tc.reason, ev.Reasons)
			}
		})
	}
}

func TestUnknownStateAndTriJSON(t *testing.T) {
	l := LoadBytes("x.json", []byte(`{"id":"p","displayName":"x","state":"unknownFutureValue","conditions":{`+allUsersAllApps+`},"grantControls":{"builtInControls":["block"]}}`))
	ev := Evaluate(l.Policies, nil, baseSubject())[0]
	if ev.Impact != ImpactUnknown || ev.Reasons[0] != "policy state 'unknownFutureValue' is unknown" {
		t.Fatalf("%s %q", ev.Impact, ev.Reasons)
	}
	b, _ := json.Marshal([]Tri{True, False, Unknown})
	if string(b) != "[true,false,null]" {
		t.Fatalf("Tri JSON = %s", b)
	}
	var back []Tri
	if err := json.Unmarshal(b, &back); err != nil || !slices.Equal(back, []Tri{True, False, Unknown}) {
		t.Fatalf("Tri round trip = %v %v", back, err)
	}
}

func TestExclusionPatchBody(t *testing.T) {
	l := loadTestTenant(t)
	var mfa *Policy
	for i := range l.Policies {
		if l.Policies[i].DisplayName == "Require MFA for all users" {
			mfa = &l.Policies[i]
		}
	}
	body, err := ExclusionPatchBody(mfa, svcUserID)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"conditions":{"users":{"excludeGroups":[],"excludeGuestsOrExternalUsers":null,"excludeRoles":[],"excludeUsers":["b7e2c7c5-1f1e-4d1b-8a2c-9d6b2f1e0a33","` + svcUserID + `"],"includeGroups":[],"includeGuestsOrExternalUsers":null,"includeRoles":[],"includeUsers":["All"]}}}`
	if string(body) != want {
		t.Fatalf("body\n got %s\nwant %s", body, want)
	}
	// Already excluded: the body keeps the list as it is.
	again, _ := ExclusionPatchBody(mfa, breakGlass)
	if strings.Count(string(again), breakGlass) != 1 {
		t.Errorf("duplicate exclusion: %s", again)
	}
	if _, err := ExclusionPatchBody(mfa, ""); err == nil {
		t.Error("no error without a user id")
	}
	req, err := ExclusionRequest(mfa, svcUserID)
	if err != nil || req != "PATCH https://graph.microsoft.com/v1.0/identity/conditionalAccess/policies/a1f0c7d2-1111-4c4e-9a0b-000000000001 "+want {
		t.Errorf("request = %q, %v", req, err)
	}
}

func TestSortByImpact(t *testing.T) {
	evs := []Evaluation{
		{Policy: pref("b none"), Impact: ImpactNone},
		{Policy: pref("sif 7d"), Impact: ImpactBreaksAfter, SignInFrequencySeconds: 604800},
		{Policy: pref("unknown"), Impact: ImpactUnknown},
		{Policy: pref("sif 1h"), Impact: ImpactBreaksAfter, SignInFrequencySeconds: 3600},
		{Policy: pref("a none"), Impact: ImpactNone},
		{Policy: pref("report"), Impact: ImpactReportOnlyWouldBreak},
		{Policy: pref("every"), Impact: ImpactBreaksEveryRefresh},
		{Policy: pref("block"), Impact: ImpactBreaksNow},
	}
	SortByImpact(evs)
	var got []string
	for _, e := range evs {
		got = append(got, e.Policy.DisplayName)
	}
	want := []string{"block", "every", "sif 1h", "sif 7d", "report", "unknown", "a none", "b none"}
	if !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
}

func pref(name string) health.PolicyRef { return health.PolicyRef{ID: name, DisplayName: name} }

func TestVerdictKeepsEveryReason(t *testing.T) {
	var v verdict
	var want []string
	for i := range 15 {
		r := "unknown " + string(rune('a'+i))
		v.add(Unknown, r)
		want = append(want, r)
	}
	v.add(True, "positive")
	want = append(want, "positive")
	arena := make([]string, 0, 2)
	got, reasons := v.result(&arena)
	if got != Unknown || !slices.Equal(reasons, want) {
		t.Fatalf("got %v %q", got, reasons)
	}
	// The returned slice is capped: appending cannot clobber the arena.
	_ = append(reasons, "x")
	if len(arena) != len(want) {
		t.Fatalf("arena length %d", len(arena))
	}
}
