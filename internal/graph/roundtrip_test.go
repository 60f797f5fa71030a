package graph

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"

	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// TestSDKModelRoundTripLosesPolicyFields records why Policies returns the
// raw Graph JSON instead of the SDK model serialised back. Parsing a policy
// into the v1.0 model and writing it with kiota's JSON writer keeps the
// fields the evaluator needs (signInFrequency, authenticationFlows, ...)
// and even unknown properties (as additional data), but it REWRITES enum
// members the model does not know: they parse to nil without an error and
// are written back as the enum's first member. An unknown grant control
// becomes "block" and an unknown client app type becomes "all", which
// would make the evaluator predict breaks that do not exist (or miss
// real ones). If this test starts failing because the SDK preserves
// unknown members, the typed path can be reconsidered.
func TestSDKModelRoundTripLosesPolicyFields(t *testing.T) {
	in := `{
	  "id": "p1", "displayName": "SIF", "state": "enabled",
	  "conditions": {
	    "users": {"includeUsers": ["All"], "excludeUsers": ["u1"]},
	    "applications": {"includeApplications": ["All"]},
	    "clientAppTypes": ["mobileAppsAndDesktopClients", "someFutureClientType"],
	    "authenticationFlows": {"transferMethods": "deviceCodeFlow,authenticationTransfer"},
	    "someBetaCondition": {"x": 1}
	  },
	  "grantControls": {"operator": "OR", "builtInControls": ["mfa", "someFutureControl"]},
	  "sessionControls": {"signInFrequency": {"isEnabled": true, "value": 4, "type": "hours",
	    "authenticationType": "primaryAndSecondaryAuthentication", "frequencyInterval": "timeBased"}}
	}`
	out := roundTrip(t, in)
	var before, after map[string]any
	_ = json.Unmarshal([]byte(in), &before)
	_ = json.Unmarshal(out, &after)

	kept := map[string]any{
		"sessionControls.signInFrequency.value":              float64(4),
		"sessionControls.signInFrequency.frequencyInterval":  "timeBased",
		"conditions.authenticationFlows.transferMethods":     "deviceCodeFlow,authenticationTransfer",
		"conditions.users.excludeUsers":                      []any{"u1"},
		"sessionControls.signInFrequency.authenticationType": "primaryAndSecondaryAuthentication",
		"grantControls.operator":                             "OR",
	}
	for path, want := range kept {
		if got := dig(after, path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v after the round trip, want %v", path, got, want)
		}
	}
	rewritten := map[string]any{
		"conditions.someBetaCondition":  map[string]any{"x": float64(1)}, // kept as additional data
		"grantControls.builtInControls": []any{"block", "mfa"},           // someFutureControl became block
		"conditions.clientAppTypes":     []any{"all", "mobileAppsAndDesktopClients"},
	}
	for path, want := range rewritten {
		if got := dig(after, path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v after the round trip, want %v (the SDK's known behaviour changed)", path, got, want)
		}
	}
	if reflect.DeepEqual(before, after) {
		t.Error("the round trip kept everything: the raw JSON path may no longer be needed")
	}
}

func roundTrip(t *testing.T, in string) []byte {
	t.Helper()
	node, err := jsonserialization.NewJsonParseNode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	v, err := node.GetObjectValue(models.CreateConditionalAccessPolicyFromDiscriminatorValue)
	if err != nil {
		t.Fatal(err)
	}
	w := jsonserialization.NewJsonSerializationWriter()
	if err := w.WriteObjectValue("", v); err != nil {
		t.Fatal(err)
	}
	out, err := w.GetSerializedContent()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dig(m map[string]any, path string) any {
	var cur any = m
	for _, k := range splitPath(path) {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[k]
	}
	if s, ok := cur.([]any); ok {
		sorted := append([]any(nil), s...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].(string) < sorted[j].(string) })
		return sorted
	}
	return cur
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return out
}
