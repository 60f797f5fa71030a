package policy

import (
	"testing"
)

// Graph omits properties that are null and adds enum members over time
// (evolvable enums surface as unknownFutureValue or as new strings). Each
// case is a policy object as Graph could send it with something missing or
// new: it must load, evaluate without panicking, and land on the expected
// impact: unknown when something the verdict depends on is missing or
// new, never a confident wrong one. An empty condition object (no
// locations, no flows listed) is Graph's "not configured": it does not
// narrow the policy, so an all-users block still breaks the token.
func TestGraphObjectsWithMissingFieldsAndNewEnums(t *testing.T) {
	block := `"grantControls":{"operator":"OR","builtInControls":["block"]}`
	tests := []struct {
		name   string
		doc    string
		impact Impact
	}{
		{"no conditions at all", `{"id":"p","displayName":"x","state":"enabled",` + block + `}`, ImpactUnknown},
		{"conditions null", `{"id":"p","displayName":"x","state":"enabled","conditions":null,` + block + `}`, ImpactUnknown},
		{"users missing", `{"id":"p","displayName":"x","state":"enabled","conditions":{"applications":{"includeApplications":["All"]}},` + block + `}`, ImpactUnknown},
		{"applications missing", `{"id":"p","displayName":"x","state":"enabled","conditions":{"users":{"includeUsers":["All"]}},` + block + `}`, ImpactUnknown},
		{"grant and session controls missing", `{"id":"p","displayName":"x","state":"enabled","conditions":{` + allUsersAllApps + `}}`, ImpactNone},
		{"state missing", `{"id":"p","displayName":"x","conditions":{` + allUsersAllApps + `},` + block + `}`, ImpactUnknown},
		{"new state value", `{"id":"p","displayName":"x","state":"enabledForSomething","conditions":{` + allUsersAllApps + `},` + block + `}`, ImpactUnknown},
		{"new built-in control", `{"id":"p","displayName":"x","state":"enabled","conditions":{` + allUsersAllApps + `},"grantControls":{"operator":"OR","builtInControls":["quantumProof"]}}`, ImpactUnknown},
		{"new operator", `{"id":"p","displayName":"x","state":"enabled","conditions":{` + allUsersAllApps + `},"grantControls":{"operator":"XOR","builtInControls":["mfa"]}}`, ImpactUnknown},
		{"sign-in frequency without value", `{"id":"p","displayName":"x","state":"enabled","conditions":{` + allUsersAllApps + `},"sessionControls":{"signInFrequency":{"isEnabled":true}}}`, ImpactUnknown},
		{"sign-in frequency new interval", `{"id":"p","displayName":"x","state":"enabled","conditions":{` + allUsersAllApps + `},"sessionControls":{"signInFrequency":{"isEnabled":true,"frequencyInterval":"unknownFutureValue"}}}`, ImpactUnknown},
		{"new client app type", `{"id":"p","displayName":"x","state":"enabled","conditions":{` + allUsersAllApps + `,"clientAppTypes":["holographic"]},` + block + `}`, ImpactUnknown},
		{"new platform", `{"id":"p","displayName":"x","state":"enabled","conditions":{` + allUsersAllApps + `,"platforms":{"includePlatforms":["visionOS"]}},` + block + `}`, ImpactUnknown},
		{"location missing ids", `{"id":"p","displayName":"x","state":"enabled","conditions":{` + allUsersAllApps + `,"locations":{}},` + block + `}`, ImpactBreaksNow},
		{"authentication flows empty", `{"id":"p","displayName":"x","state":"enabled","conditions":{` + allUsersAllApps + `,"authenticationFlows":{}},` + block + `}`, ImpactBreaksNow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := LoadBytes("graph.json", []byte(tc.doc))
			if len(l.Policies) != 1 {
				t.Fatalf("not loaded: %v", l.Skipped)
			}
			evs := Evaluate(l.Policies, nil, baseSubject())
			if len(evs) != 1 {
				t.Fatalf("%d evaluations, want 1", len(evs))
			}
			if evs[0].Impact != tc.impact {
				t.Errorf("impact %s, want %s (reasons %q)", evs[0].Impact, tc.impact, evs[0].Reasons)
			}
		})
	}
}
