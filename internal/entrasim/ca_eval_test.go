package entrasim

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// caPolicy builds a policy JSON from its parts.
func caPolicy(state, users, extraConditions, grant, session string) string {
	p := fmt.Sprintf(`{"displayName":"P","state":%q,"conditions":{"users":%s,"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]%s}`,
		state, users, extraConditions)
	if grant != "" {
		p += `,"grantControls":` + grant
	}
	if session != "" {
		p += `,"sessionControls":` + session
	}
	return p + "}"
}

const (
	allUsers  = `{"includeUsers":["All"]}`
	blockCtl  = `{"operator":"OR","builtInControls":["block"]}`
	mfaCtl    = `{"operator":"OR","builtInControls":["mfa"]}`
	nestedGrp = "0c0c0c0c-0000-4000-8000-0000000000a1" // svc is a member through a nested group
	readerRol = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b" // svc holds it
	locID     = "0c0c0c0c-0000-4000-8000-0000000000c1"
	loc6ID    = "0c0c0c0c-0000-4000-8000-0000000000c2"
	countryID = "0c0c0c0c-0000-4000-8000-0000000000c3"
)

var locationsYAML = `namedLocations:
  - {"@odata.type": "#microsoft.graph.ipNamedLocation", id: ` + locID + `, displayName: Office, isTrusted: true,
     ipRanges: [{"@odata.type": "#microsoft.graph.iPv4CidrRange", cidrAddress: 10.1.0.0/16}]}
  - {"@odata.type": "#microsoft.graph.ipNamedLocation", id: ` + loc6ID + `, displayName: Office v6, isTrusted: false,
     ipRanges: [{"@odata.type": "#microsoft.graph.iPv6CidrRange", cidrAddress: "2001:db8::/32"}]}
  - {"@odata.type": "#microsoft.graph.countryNamedLocation", id: ` + countryID + `, displayName: Blocked countries,
     countriesAndRegions: [RU, KP], includeUnknownCountriesAndRegions: true}
`

func TestEvaluateCA(t *testing.T) {
	type req struct {
		ip       string
		platform string
		mfa      bool
		tracked  bool
		age      time.Duration // since the interactive authentication
		inter    bool
	}
	def := req{ip: "127.0.0.1", platform: "linux"}
	cases := []struct {
		name   string
		policy string
		req    req
		result string // appliedConditionalAccessPolicies[0].result
		code   int    // enforced error, 0 = granted
	}{
		{"block all", caPolicy("enabled", allUsers, "", blockCtl, ""), def, "failure", 53003},
		{"exclusion wins over inclusion (nested group)", caPolicy("enabled", `{"includeUsers":["All"],"excludeGroups":["`+nestedGrp+`"]}`, "", blockCtl, ""), def, "notApplied", 0},
		{"nested group included", caPolicy("enabled", `{"includeGroups":["`+nestedGrp+`"]}`, "", blockCtl, ""), def, "failure", 53003},
		{"role by template id", caPolicy("enabled", `{"includeRoles":["`+readerRol+`"]}`, "", blockCtl, ""), def, "failure", 53003},
		{"excluded role", caPolicy("enabled", `{"includeUsers":["All"],"excludeRoles":["`+readerRol+`"]}`, "", blockCtl, ""), def, "notApplied", 0},
		{"other user only", caPolicy("enabled", `{"includeUsers":["0c0c0c0c-0000-4000-8000-000000000002"]}`, "", blockCtl, ""), def, "notApplied", 0},
		{"guests only", caPolicy("enabled", `{"includeUsers":["GuestsOrExternalUsers"]}`, "", blockCtl, ""), def, "notApplied", 0},
		{"browser only", `{"displayName":"P","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["browser"]},"grantControls":` + blockCtl + `}`, def, "notApplied", 0},
		{"graph excluded", `{"displayName":"P","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"],"excludeApplications":["00000003-0000-0000-c000-000000000000"]},"clientAppTypes":["all"]},"grantControls":` + blockCtl + `}`, def, "notApplied", 0},
		{"client app named", `{"displayName":"P","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["` + testApp + `"]},"clientAppTypes":["all"]},"grantControls":` + blockCtl + `}`, def, "failure", 53003},
		{"client app excluded", `{"displayName":"P","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"],"excludeApplications":["` + testApp + `"]},"clientAppTypes":["all"]},"grantControls":` + blockCtl + `}`, def, "notApplied", 0},
		{"Office365 does not cover Graph", `{"displayName":"P","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["Office365"]},"clientAppTypes":["all"]},"grantControls":` + blockCtl + `}`, def, "notApplied", 0},
		{"inside IPv4 location", caPolicy("enabled", allUsers, `,"locations":{"includeLocations":["`+locID+`"]}`, blockCtl, ""), req{ip: "10.1.2.3"}, "failure", 53003},
		{"outside IPv4 location", caPolicy("enabled", allUsers, `,"locations":{"includeLocations":["`+locID+`"]}`, blockCtl, ""), def, "notApplied", 0},
		{"all except trusted, from trusted", caPolicy("enabled", allUsers, `,"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}`, blockCtl, ""), req{ip: "10.1.9.9"}, "notApplied", 0},
		{"all except trusted, from elsewhere", caPolicy("enabled", allUsers, `,"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}`, blockCtl, ""), def, "failure", 53003},
		{"IPv6 location", caPolicy("enabled", allUsers, `,"locations":{"includeLocations":["`+loc6ID+`"]}`, blockCtl, ""), req{ip: "2001:db8::7"}, "failure", 53003},
		{"country location, mapped US", caPolicy("enabled", allUsers, `,"locations":{"includeLocations":["`+countryID+`"]}`, blockCtl, ""), def, "notApplied", 0},
		{"country location, unknown country included", caPolicy("enabled", allUsers, `,"locations":{"includeLocations":["`+countryID+`"]}`, blockCtl, ""), req{ip: "192.0.2.1"}, "failure", 53003},
		{"platform linux included", caPolicy("enabled", allUsers, `,"platforms":{"includePlatforms":["linux"]}`, blockCtl, ""), def, "failure", 53003},
		{"platform windows only", caPolicy("enabled", allUsers, `,"platforms":{"includePlatforms":["windows"]}`, blockCtl, ""), def, "notApplied", 0},
		{"platform all except linux", caPolicy("enabled", allUsers, `,"platforms":{"includePlatforms":["all"],"excludePlatforms":["linux"]}`, blockCtl, ""), def, "notApplied", 0},
		{"unknown platform, all", caPolicy("enabled", allUsers, `,"platforms":{"includePlatforms":["all"]}`, blockCtl, ""), req{ip: "127.0.0.1"}, "failure", 53003},
		{"device code flow, session not tracked", caPolicy("enabled", allUsers, `,"authenticationFlows":{"transferMethods":"deviceCodeFlow"}`, blockCtl, ""), def, "notApplied", 0},
		{"device code flow, tracked session", caPolicy("enabled", allUsers, `,"authenticationFlows":{"transferMethods":"deviceCodeFlow,authenticationTransfer"}`, blockCtl, ""), req{ip: "127.0.0.1", tracked: true}, "failure", 53003},
		{"sign-in risk never present", caPolicy("enabled", allUsers, `,"signInRiskLevels":["high","medium"]`, blockCtl, ""), def, "notApplied", 0},
		{"device filter include cannot match", caPolicy("enabled", allUsers, `,"devices":{"deviceFilter":{"mode":"include","rule":"device.trustType -eq \"ServerAD\""}}`, blockCtl, ""), def, "notApplied", 0},
		{"report-only block", caPolicy("enabledForReportingButNotEnforced", allUsers, "", blockCtl, ""), def, "reportOnlyFailure", 0},
		{"report-only MFA, interactive", caPolicy("enabledForReportingButNotEnforced", allUsers, "", mfaCtl, ""), req{ip: "127.0.0.1", inter: true}, "reportOnlyInterrupted", 0},
		{"report-only not applied", caPolicy("enabledForReportingButNotEnforced", `{"includeUsers":["None"]}`, "", blockCtl, ""), def, "reportOnlyNotApplied", 0},
		{"report-only success", caPolicy("enabledForReportingButNotEnforced", allUsers, "", mfaCtl, ""), req{ip: "127.0.0.1", mfa: true}, "reportOnlySuccess", 0},
		{"disabled", caPolicy("disabled", allUsers, "", blockCtl, ""), def, "notEnabled", 0},
		{"MFA satisfied", caPolicy("enabled", allUsers, "", mfaCtl, ""), req{ip: "127.0.0.1", mfa: true}, "success", 0},
		{"MFA missing", caPolicy("enabled", allUsers, "", mfaCtl, ""), def, "failure", 50076},
		{"MFA or compliant, no MFA: asks for MFA", caPolicy("enabled", allUsers, "", `{"operator":"OR","builtInControls":["mfa","compliantDevice"]}`, ""), def, "failure", 50076},
		{"MFA or compliant, MFA done", caPolicy("enabled", allUsers, "", `{"operator":"OR","builtInControls":["mfa","compliantDevice"]}`, ""), req{ip: "127.0.0.1", mfa: true}, "success", 0},
		{"MFA and compliant", caPolicy("enabled", allUsers, "", `{"operator":"AND","builtInControls":["mfa","compliantDevice"]}`, ""), req{ip: "127.0.0.1", mfa: true}, "failure", 53000},
		{"authentication strength needs MFA", caPolicy("enabled", allUsers, "", `{"operator":"OR","builtInControls":[],"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000002"}}`, ""), def, "failure", 50076},
		{"SIF 4 hours, 3 h old", caPolicy("enabled", allUsers, "", "", `{"signInFrequency":{"isEnabled":true,"value":4,"type":"hours","frequencyInterval":"timeBased"}}`), req{ip: "127.0.0.1", age: 3 * time.Hour}, "success", 0},
		{"SIF 4 hours, 5 h old", caPolicy("enabled", allUsers, "", "", `{"signInFrequency":{"isEnabled":true,"value":4,"type":"hours","frequencyInterval":"timeBased"}}`), req{ip: "127.0.0.1", age: 5 * time.Hour}, "failure", 70043},
		{"SIF disabled", caPolicy("enabled", allUsers, "", "", `{"signInFrequency":{"isEnabled":false,"value":4,"type":"hours","frequencyInterval":"timeBased"}}`), req{ip: "127.0.0.1", age: 5 * time.Hour}, "success", 0},
		{"SIF secondary auth without MFA", caPolicy("enabled", allUsers, "", "", `{"signInFrequency":{"isEnabled":true,"value":1,"type":"hours","authenticationType":"secondaryAuthentication","frequencyInterval":"timeBased"}}`), req{ip: "127.0.0.1", age: 5 * time.Hour}, "success", 0},
		{"SIF every time, 4 min", caPolicy("enabled", allUsers, "", "", `{"signInFrequency":{"isEnabled":true,"frequencyInterval":"everyTime"}}`), req{ip: "127.0.0.1", age: 4 * time.Minute}, "success", 0},
		{"SIF every time, interactive", caPolicy("enabled", allUsers, "", "", `{"signInFrequency":{"isEnabled":true,"frequencyInterval":"everyTime"}}`), req{ip: "127.0.0.1", age: time.Hour, inter: true}, "success", 0},
	}
	sc := testScenario(t, "", locationsYAML)
	s, err := New(Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newPolicy(testTenant, 0, json.RawMessage(tc.policy))
			if err != nil {
				t.Fatalf("policy: %v", err)
			}
			var out caOutcome
			s.Tenant(testTenant).View(func(st *TenantState) {
				ip := netip.MustParseAddr(tc.req.ip)
				in := &caInput{
					user: st.Users[testUser], resourceID: GraphAppID, clientID: testApp, platform: tc.req.platform, ip: ip,
					country: st.countryOf(ip), interactive: tc.req.inter, deviceCodeTracked: tc.req.tracked,
					authTime: now.Add(-tc.req.age), now: now, locations: st.locIndex,
				}
				if tc.req.mfa {
					in.mfaTime = in.authTime
				}
				out = evaluateCA([]*Policy{p}, in, stsErrors{now: now})
			})
			if got := out.applied[0].Result; got != tc.result {
				t.Errorf("result = %q, want %q", got, tc.result)
			}
			code := 0
			if out.err != nil {
				code = out.err.code
			}
			if code != tc.code {
				t.Errorf("enforced error = %d, want %d", code, tc.code)
			}
		})
	}
}

// TestEvaluateCAPrecedence: with several failing policies the sign-in
// reports each, and the enforced error is the block.
func TestEvaluateCAPrecedence(t *testing.T) {
	s, err := New(Options{Scenario: testScenario(t, "", "")})
	if err != nil {
		t.Fatal(err)
	}
	var ps []*Policy
	for i, raw := range []string{
		caPolicy("enabled", allUsers, "", mfaCtl, ""),
		caPolicy("enabled", allUsers, "", "", `{"signInFrequency":{"isEnabled":true,"value":1,"type":"hours","frequencyInterval":"timeBased"}}`),
		caPolicy("enabled", allUsers, "", blockCtl, ""),
	} {
		p, err := newPolicy(testTenant, i, json.RawMessage(raw))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var out caOutcome
	s.Tenant(testTenant).View(func(st *TenantState) {
		out = evaluateCA(ps, &caInput{user: st.Users[testUser], resourceID: GraphAppID, ip: netip.MustParseAddr("127.0.0.1"),
			authTime: now.Add(-2 * time.Hour), now: now, locations: st.locIndex}, stsErrors{now: now})
	})
	if out.err == nil || out.err.code != 53003 || out.status != "failure" {
		t.Fatalf("err = %v status %q, want 53003 failure", out.err, out.status)
	}
	for i, ap := range out.applied {
		if ap.Result != "failure" {
			t.Errorf("policy %d result %q, want failure", i, ap.Result)
		}
	}
	if fmt.Sprint(out.applied[1].EnforcedSessionControls) != "[SignInFrequency]" || fmt.Sprint(out.applied[0].EnforcedGrantControls) != "[Mfa]" {
		t.Errorf("enforced controls = %+v", out.applied)
	}
	if len(out.lifetimes) != 1 || out.lifetimes[0].ExpirationRequirement != "signInFrequencyPeriodicReauthentication" {
		t.Errorf("sessionLifetimePolicies = %+v", out.lifetimes)
	}
}
