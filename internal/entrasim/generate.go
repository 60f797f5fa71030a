package entrasim

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"
)

// CanaryAppID is the multi-tenant public client every generated and demo
// tenant has consented (the agent's canary app).
const CanaryAppID = "7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b"

// Directory role template ids used by generated policies.
const (
	roleGlobalAdmin   = "62e90394-69f5-4237-9190-012177145e10"
	roleSecurityAdmin = "194ae4cb-b126-40b2-bd5b-6091b380977d"
)

// GenerateScenario builds n tenants for load tests and the 10,000-tenant
// benchmark. The same seed always gives the same scenario. Tenants cycle
// through realistic policy mixes: healthy, sign-in frequency of varying
// length (some due soon), report-only MFA, every-time reauthentication,
// legacy-auth blocks, admin-only MFA and device rules, named locations, and
// a policy arriving later.
func GenerateScenario(n int, seed uint64) *Scenario {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	sc := &Scenario{Start: DefaultStart.Format("2006-01-02T15:04:05Z")}
	for i := range n {
		sc.Tenants = append(sc.Tenants, generateTenant(i, seed, rng))
	}
	return sc
}

// WriteScenarioYAML writes sc as a scenario file.
func WriteScenarioYAML(w io.Writer, sc *Scenario) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(sc); err != nil {
		return err
	}
	return enc.Close()
}

func generateTenant(i int, seed uint64, rng *rand.Rand) ScenarioTenant {
	tid := uuid.NewSHA1(uuid.NameSpaceURL, fmt.Appendf(nil, "entrasim/generated/%d/%d", seed, i)).String()
	domain := fmt.Sprintf("tenant%05d.onmicrosoft.com", i)
	id := func(kind string) string { return deterministicID(tid, "generated", kind) }
	svc, admin, staff := "svc-sync@"+domain, "admin@"+domain, "user@"+domain
	passwordAge := 1 + rng.IntN(88) // days
	t := ScenarioTenant{
		ID: tid, Domain: domain, DisplayName: fmt.Sprintf("Generated tenant %d", i),
		Options: ScenarioOptions{
			AutoApproveDeviceCode: true, InteractiveUser: svc, IncludeAuthTime: i%2 == 0,
			RememberMFADays: []int{0, 0, 14, 30}[i%4],
			Countries:       map[string]string{"127.0.0.0/8": "US", "::1/128": "US"},
		},
		Domains: []ScenarioDomain{{ID: domain, Default: true, PasswordValidityPeriodInDays: []int{90, 2147483647, 180}[i%3]}},
		Users: []ScenarioUser{
			{ID: id("svc"), UPN: svc, DisplayName: "Sync service", PasswordLastChanged: fmt.Sprintf("-%dd", passwordAge),
				MFAMethods: []string{"microsoftAuthenticator"}},
			{ID: id("admin"), UPN: admin, DisplayName: "Administrator", MFAMethods: []string{"microsoftAuthenticator", "phone"}},
			{ID: id("staff"), UPN: staff, DisplayName: "Staff member"},
		},
		Groups: []ScenarioGroup{
			{ID: id("group-svc"), DisplayName: "Service accounts", Members: []string{svc}},
			{ID: id("group-all"), DisplayName: "All staff", Members: []string{id("group-svc"), staff}},
		},
		Roles: []ScenarioRole{{TemplateID: roleGlobalAdmin, DisplayName: "Global Administrator", Members: []string{admin}}},
		Apps: []ScenarioApp{{AppID: CanaryAppID, DisplayName: "tokenhealth canary", Public: true,
			ConsentedScopes: []string{"Policy.Read.All", "AuditLog.Read.All", "Directory.Read.All", "User.Read"}}},
	}
	if i%3 == 1 {
		t.Users[0].BrowserSession = &ScenarioBrowserSession{AuthenticatedAt: fmt.Sprintf("-%dd", rng.IntN(min(6, passwordAge))), MFA: i%2 == 0}
	}
	loc := map[string]any{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": id("location"), "displayName": "Datacenter",
		"isTrusted": true, "ipRanges": []any{map[string]any{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "127.0.0.0/8"}}}
	t.NamedLocations = append(t.NamedLocations, *jsonNode(loc))

	policy := func(name, state string, u map[string]any, extra map[string]any) {
		p := map[string]any{"id": id("policy-" + name), "displayName": name, "state": state,
			"conditions": map[string]any{"users": u, "applications": map[string]any{"includeApplications": []string{"All"}}, "clientAppTypes": []string{"all"}}}
		for k, v := range extra {
			if k == "locations" || k == "clientAppTypes" || k == "authenticationFlows" {
				p["conditions"].(map[string]any)[k] = v
				continue
			}
			p[k] = v
		}
		t.Policies = append(t.Policies, *jsonNode(p))
	}
	mfa := map[string]any{"grantControls": map[string]any{"operator": "OR", "builtInControls": []string{"mfa"}}}
	block := map[string]any{"grantControls": map[string]any{"operator": "OR", "builtInControls": []string{"block"}}}
	policy("Require MFA for administrators", "enabled", map[string]any{"includeRoles": []string{roleGlobalAdmin, roleSecurityAdmin}}, mfa)
	policy("Block legacy authentication", "enabled", map[string]any{"includeUsers": []string{"All"}},
		map[string]any{"clientAppTypes": []string{"exchangeActiveSync", "other"}, "grantControls": block["grantControls"]})
	sif := func(v int, unit string) map[string]any {
		return map[string]any{"sessionControls": map[string]any{"signInFrequency": map[string]any{
			"isEnabled": true, "value": v, "type": unit, "authenticationType": "primaryAndSecondaryAuthentication", "frequencyInterval": "timeBased"}}}
	}
	switch i % 6 {
	case 0: // healthy: the service accounts are excluded from the SIF policy
		p := sif(12, "hours")
		policy("Sign-in frequency 12 hours", "enabled", map[string]any{"includeUsers": []string{"All"}, "excludeGroups": []string{id("group-svc")}}, p)
	case 1:
		policy(fmt.Sprintf("Sign-in frequency %d days", 1+i%14), "enabled", map[string]any{"includeGroups": []string{id("group-all")}}, sif(1+i%14, "days"))
	case 2:
		policy("Report-only: MFA for all users", "enabledForReportingButNotEnforced", map[string]any{"includeUsers": []string{"All"}}, mfa)
	case 3:
		policy("Reauthenticate every time", "enabled", map[string]any{"includeUsers": []string{id("svc")}},
			map[string]any{"sessionControls": map[string]any{"signInFrequency": map[string]any{"isEnabled": true, "authenticationType": "primaryAndSecondaryAuthentication", "frequencyInterval": "everyTime"}}})
	case 4:
		policy("Block outside the datacenter", "enabled", map[string]any{"includeUsers": []string{"All"}, "excludeUsers": []string{id("admin")}},
			map[string]any{"locations": map[string]any{"includeLocations": []string{"All"}, "excludeLocations": []string{id("location")}}, "grantControls": block["grantControls"]})
	case 5:
		policy("Block device code flow", "enabledForReportingButNotEnforced", map[string]any{"includeUsers": []string{"All"}},
			map[string]any{"authenticationFlows": map[string]any{"transferMethods": "deviceCodeFlow"}, "grantControls": block["grantControls"]})
	}
	if i%10 == 7 {
		p := map[string]any{"id": id("policy-later"), "displayName": "Sign-in frequency 8 hours (added later)", "state": "enabled",
			"conditions":      map[string]any{"users": map[string]any{"includeUsers": []string{"All"}}, "applications": map[string]any{"includeApplications": []string{"All"}}, "clientAppTypes": []string{"all"}},
			"sessionControls": sif(8, "hours")["sessionControls"]}
		t.Events = append(t.Events, ScenarioEvent{At: fmt.Sprintf("+%dh", 12+rng.IntN(72)), Action: "addPolicy", Policy: *jsonNode(p)})
	}
	return t
}

// jsonNode wraps a JSON object as a scenario entry {json: "..."}.
func jsonNode(v any) *yaml.Node {
	b, err := json.Marshal(v)
	if err != nil {
		panic("entrasim: generated object is not JSON: " + err.Error())
	}
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "json"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: string(b)},
	}}
}
