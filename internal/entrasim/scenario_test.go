package entrasim

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// utf16LE encodes s as PowerShell's Out-File does: BOM, UTF-16LE, CRLF.
func utf16LE(s string) []byte {
	s = strings.ReplaceAll(s, "\n", "\r\n")
	u := utf16.Encode([]rune(s))
	b := []byte{0xFF, 0xFE}
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

const exportedPolicies = `{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies",
  "value": [
    {"id": "aaaaaaaa-0000-4000-8000-000000000001", "displayName": "Block légacy", "state": "enabled", "templateId": null,
     "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["exchangeActiveSync", "other"]},
     "grantControls": {"operator": "OR", "builtInControls": ["block"]}},
    {"id": "aaaaaaaa-0000-4000-8000-000000000002", "displayName": "SIF", "state": "enabledForReportingButNotEnforced",
     "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
     "sessionControls": {"signInFrequency": {"value": 4, "type": "hours", "isEnabled": true, "frequencyInterval": "timeBased", "authenticationType": "primaryAndSecondaryAuthentication"}}}
  ]
}`

func TestPolicyFilesInExportEncodings(t *testing.T) {
	dir := t.TempDir()
	single := `{"id":"bbbbbbbb-0000-4000-8000-000000000003","displayName":"MFA","state":"disabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`
	files := map[string][]byte{
		"utf16.json":     utf16LE(exportedPolicies),
		"bom8.json":      append([]byte{0xEF, 0xBB, 0xBF}, single...),
		"locations.json": []byte(`{"value":[{"@odata.type":"#microsoft.graph.countryNamedLocation","id":"cccccccc-0000-4000-8000-000000000001","displayName":"EU","countriesAndRegions":["DE","FR"],"includeUnknownCountriesAndRegions":false}]}`),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	scenario := `tenants:
  - id: ` + testTenant + `
    domain: ` + testDomain + `
    users: [{upn: a@testco.onmicrosoft.com}]
    namedLocations: [{file: locations.json}]
    policies:
      - {file: utf16.json}
      - {file: bom8.json}
      - {json: '{"displayName":"Inline JSON","state":"enabled","conditions":{"users":{"includeUsers":["None"]},"applications":{"includeApplications":["All"]}}}'}
`
	path := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(path, utf16LE(scenario), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := LoadScenarioFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	s.Tenant(testTenant).View(func(st *TenantState) {
		var names []string
		for _, p := range st.Policies {
			names = append(names, p.DisplayName+"/"+p.State)
		}
		want := "Block légacy/enabled SIF/enabledForReportingButNotEnforced MFA/disabled Inline JSON/enabled"
		if got := strings.Join(names, " "); got != want {
			t.Errorf("policies = %q, want %q", got, want)
		}
		if !strings.Contains(string(st.Policies[0].Raw), `"templateId":null`) {
			t.Errorf("raw policy lost fields: %s", st.Policies[0].Raw)
		}
		if st.Policies[3].ID == "" || len(st.NamedLocations) != 1 || st.NamedLocations[0].ID != "cccccccc-0000-4000-8000-000000000001" {
			t.Errorf("ids: policy %q, locations %+v", st.Policies[3].ID, st.NamedLocations)
		}
	})
}

func TestScenarioErrors(t *testing.T) {
	base := func(tenant string) string {
		return "tenants:\n  - id: " + testTenant + "\n    domain: " + testDomain + "\n" + tenant
	}
	cases := []struct {
		name, yaml, want string
	}{
		{"no tenants", "tenants: []\n", "scenario: no tenants"},
		{"unknown key", base("    colour: blue\n"), "field colour not found"},
		{"bad tenant id", "tenants:\n  - id: contoso\n    domain: c.onmicrosoft.com\n", `tenant c.onmicrosoft.com: id "contoso": not a GUID`},
		{"missing domain", "tenants:\n  - id: " + testTenant + "\n", "tenant #1: domain: required"},
		{"bad upn", base("    users: [{upn: svc}]\n"), `users[0].upn "svc": want user@domain`},
		{"bad per-user MFA", base("    users: [{upn: a@b.c, perUserMfa: on}]\n"), `users[0].perUserMfa "on": want disabled, enabled or enforced`},
		{"bad relative time", base("    users: [{upn: a@b.c, passwordLastChanged: yesterday}]\n"), `users[0].passwordLastChanged: time "yesterday"`},
		{"unknown member", base("    groups: [{id: " + testUser + ", members: [ghost@b.c]}]\n"), `groups[0].members: member "ghost@b.c" is neither a user nor a group`},
		{"confidential app without credentials", base("    apps: [{appId: " + testApp + "}]\n"), "a confidential app needs secrets or certificates"},
		{"bad policy state", base("    policies: [{displayName: X, state: on, conditions: {users: {includeUsers: [All]}, applications: {includeApplications: [All]}}}]\n"), `policy "X": state "on"`},
		{"policy without conditions", base("    policies: [{displayName: X, state: enabled}]\n"), "conditions.users and conditions.applications are required"},
		{"SIF without value", base("    policies: [{displayName: X, state: enabled, conditions: {users: {includeUsers: [All]}, applications: {includeApplications: [All]}}, sessionControls: {signInFrequency: {isEnabled: true, type: hours, frequencyInterval: timeBased}}}]\n"), "value required for a timeBased frequency"},
		{"named location without type", base("    namedLocations: [{displayName: X}]\n"), `named location "X": @odata.type ""`},
		{"bad CIDR", base("    namedLocations: [{\"@odata.type\": \"#microsoft.graph.ipNamedLocation\", displayName: X, ipRanges: [{cidrAddress: 10.0.0.0/33}]}]\n"), `"10.0.0.0/33" is not a CIDR address`},
		{"bad country map", base("    options: {countries: {\"10.0.0.0/8\": USA}}\n"), `countries[10.0.0.0/8] "USA": want a two-letter ISO code`},
		{"bad event action", base("    events: [{at: +1h, action: explode}]\n"), `events[0]: action "explode"`},
		{"event for unknown user", base("    events: [{at: +1h, action: disableUser, user: ghost@b.c}]\n"), `disableUser: user "ghost@b.c" not in tenant`},
		{"event without time", base("    users: [{upn: a@b.c}]\n    events: [{action: disableUser, user: a@b.c}]\n"), "events[0]: at: empty time"},
		{"missing policy file", base("    policies: [{file: /nonexistent/p.json}]\n"), "policies[0]: open /nonexistent/p.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := ParseScenario([]byte(tc.yaml))
			if err == nil {
				_, err = New(Options{Scenario: sc})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	cases := map[string]time.Duration{
		"+36h": 36 * time.Hour, "-5d": -5 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "+2d": 48 * time.Hour,
	}
	for in, want := range cases {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "xd", "1.5d", "5 days"} {
		if _, err := parseDuration(bad); err == nil && bad != "" {
			t.Errorf("parseDuration(%q) accepted", bad)
		}
	}
}

// TestDemoScenarioEvents: the demo's timed changes happen when virtual time
// reaches them, not before.
func TestDemoScenarioEvents(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	count := func(tenant string) (n int) {
		s.Tenant(tenant).View(func(st *TenantState) { n = len(st.Policies) })
		return n
	}
	if count("adatum-change.onmicrosoft.com") != 0 || count("tailspin-mfa.onmicrosoft.com") != 0 {
		t.Fatal("timed policies present at start")
	}
	s.Advance(3 * time.Minute)
	if count("tailspin-mfa.onmicrosoft.com") != 1 || count("adatum-change.onmicrosoft.com") != 0 {
		t.Fatal("after 3 minutes: want only the tailspin MFA policy")
	}
	s.Advance(36 * time.Hour)
	if count("adatum-change.onmicrosoft.com") != 1 {
		t.Fatal("after 36 hours: adatum policy missing")
	}
	if ev := s.Summaries()[5].PendingEvents; len(ev) != 0 {
		t.Errorf("pending events after they ran: %v", ev)
	}
}
