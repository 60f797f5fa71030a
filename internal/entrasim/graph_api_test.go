package entrasim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestGraphRequiresBearerToken(t *testing.T) {
	s := newGraphSim(t)
	expired := mintToken(t, s, gUser, gApp, fullScopes)
	s.Advance(2 * time.Hour)
	for _, tc := range []struct {
		name, token, wantMsg string
	}{
		{"missing", "", "Access token is empty."},
		{"garbage", "not-a-jwt", "Access token validation failure. Invalid audience or signature."},
		{"expired", expired, "Lifetime validation failed, the token is expired."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "GET", "/v1.0/identity/conditionalAccess/policies", tc.token, nil)
			if r.status != http.StatusUnauthorized || r.errorCode() != "InvalidAuthenticationToken" {
				t.Fatalf("got %d %s, want 401 InvalidAuthenticationToken", r.status, r.raw)
			}
			e := r.body["error"].(map[string]any)
			if e["message"] != tc.wantMsg {
				t.Errorf("message %q, want %q", e["message"], tc.wantMsg)
			}
			inner := e["innerError"].(map[string]any)
			for _, k := range []string{"date", "request-id", "client-request-id"} {
				if inner[k] == "" || inner[k] == nil {
					t.Errorf("innerError.%s missing", k)
				}
			}
			if strings.Contains(r.header.Get("WWW-Authenticate"), "claims=") {
				t.Errorf("a plain 401 must not carry a claims challenge: %s", r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestGraphPoliciesPageWithAbsoluteNextLink(t *testing.T) {
	s := newGraphSim(t)
	tok := mintToken(t, s, gUser, gApp, fullScopes)
	want := []string{"5a5a5a5a-0000-4000-8000-0000000000b1", "5a5a5a5a-0000-4000-8000-0000000000b2",
		"5a5a5a5a-0000-4000-8000-0000000000b3", "5a5a5a5a-0000-4000-8000-0000000000b4", "5a5a5a5a-0000-4000-8000-0000000000b5"}
	for _, tc := range []struct {
		version, query string
		pageSizes      []int
	}{
		{"v1.0", "", []int{2, 2, 1}},
		{"v1.0", "?$top=3", []int{3, 2}},
		{"beta", "?$top=5", []int{5}},
	} {
		t.Run(tc.version+tc.query, func(t *testing.T) {
			url := "/" + tc.version + "/identity/conditionalAccess/policies" + tc.query
			var got []string
			var sizes []int
			for url != "" {
				s.Advance(time.Second) // stay inside 1 request/s
				r := call(t, s, "GET", url, tok, nil)
				if r.status != 200 {
					t.Fatalf("GET %s: %d %s", url, r.status, r.raw)
				}
				items := r.values()
				sizes = append(sizes, len(items))
				got = append(got, ids(items)...)
				url, _ = r.body["@odata.nextLink"].(string)
				if url != "" && !strings.HasPrefix(url, "https://graph.microsoft.com/"+tc.version+"/identity/conditionalAccess/policies?") {
					t.Fatalf("nextLink %q is not absolute on the request's host", url)
				}
			}
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(sizes, tc.pageSizes) {
				t.Errorf("got ids %v in pages %v, want %v in pages %v", got, sizes, want, tc.pageSizes)
			}
		})
	}
	s.Advance(time.Second)
	one := call(t, s, "GET", "/v1.0/identity/conditionalAccess/policies/5a5a5a5a-0000-4000-8000-0000000000b5", tok, nil)
	sif := one.body["sessionControls"].(map[string]any)["signInFrequency"].(map[string]any)
	if one.status != 200 || sif["value"] != float64(4) || one.body["conditions"].(map[string]any)["authenticationFlows"] == nil {
		t.Errorf("single policy lost raw fields: %d %s", one.status, one.raw)
	}
}

func TestGraphCAThrottleHasNoRetryAfter(t *testing.T) {
	s := newGraphSim(t)
	tok := mintToken(t, s, gUser, gApp, fullScopes)
	first := call(t, s, "GET", "/v1.0/identity/conditionalAccess/namedLocations", tok, nil)
	second := call(t, s, "GET", "/v1.0/identity/conditionalAccess/policies", tok, nil)
	if first.status != 200 || second.status != http.StatusTooManyRequests {
		t.Fatalf("got %d then %d, want 200 then 429 (policies and named locations share 1 request/s)", first.status, second.status)
	}
	if ra := second.header.Get("Retry-After"); ra != "" || second.errorCode() != "TooManyRequests" {
		t.Errorf("CA throttling: Retry-After %q code %q, want no header and TooManyRequests", ra, second.errorCode())
	}
	s.Advance(time.Second)
	if r := call(t, s, "GET", "/v1.0/identity/conditionalAccess/policies", tok, nil); r.status != 200 {
		t.Errorf("after 1 s of virtual time: %d, want 200", r.status)
	}
	if got := s.GraphStats().Throttled[bucketCA]; got != 1 {
		t.Errorf("stats count %d CA throttles, want 1", got)
	}
}

func TestGraphNamedLocationsKeepODataType(t *testing.T) {
	s := newGraphSim(t)
	tok := mintToken(t, s, gUser, gApp, fullScopes)
	r := call(t, s, "GET", "/v1.0/identity/conditionalAccess/namedLocations?$top=10", tok, nil)
	var types []string
	for _, it := range r.values() {
		types = append(types, it["@odata.type"].(string))
	}
	want := []string{"#microsoft.graph.ipNamedLocation", "#microsoft.graph.countryNamedLocation"}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("@odata.type %v, want %v", types, want)
	}
}

func TestGraphUserSelectAndMe(t *testing.T) {
	s := newGraphSim(t)
	tok := mintToken(t, s, gUser, gApp, fullScopes)
	sel := "?$select=id,accountEnabled,lastPasswordChangeDateTime,signInSessionsValidFromDateTime,userPrincipalName"
	for _, tc := range []struct {
		name, path string
		status     int
		want       map[string]any
		absent     []string
	}{
		{"by UPN with $select", "/v1.0/users/" + gUPN + sel, 200, map[string]any{
			"id": gUser, "accountEnabled": true, "userPrincipalName": gUPN,
			"lastPasswordChangeDateTime": "2026-02-20T08:00:00Z", "signInSessionsValidFromDateTime": "2026-02-20T08:00:00Z",
		}, []string{"displayName"}},
		{"default properties omit the sign-in facts", "/v1.0/users/" + gUser, 200,
			map[string]any{"id": gUser, "displayName": "Sync Account"}, []string{"accountEnabled", "lastPasswordChangeDateTime"}},
		{"me", "/v1.0/me?$select=id", 200, map[string]any{"id": gUser}, []string{"userPrincipalName"}},
		{"unknown property", "/v1.0/users/" + gUser + "?$select=id,shoeSize", 400, nil, nil},
		{"unknown user", "/v1.0/users/nobody@graphco.onmicrosoft.com", 404, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "GET", tc.path, tok, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			for k, v := range tc.want {
				if r.body[k] != v {
					t.Errorf("%s = %v, want %v", k, r.body[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := r.body[k]; ok {
					t.Errorf("%s present, want absent", k)
				}
			}
		})
	}
}

func TestGraphTransitiveMemberOfAndCasts(t *testing.T) {
	s := newGraphSim(t)
	tok := mintToken(t, s, gUser, gApp, fullScopes)
	roleID := deterministicID(gTenant, "role", gRoleTmpl)
	groups := []string{gGroup, gNested}
	for _, tc := range []struct {
		path      string
		wantIDs   []string
		wantTypes []string
	}{
		{"/v1.0/users/" + gUser + "/transitiveMemberOf", append(append([]string{}, groups...), roleID),
			[]string{"#microsoft.graph.group", "#microsoft.graph.group", "#microsoft.graph.directoryRole"}},
		{"/v1.0/users/" + gUser + "/transitiveMemberOf/graph.group", groups, []string{"#microsoft.graph.group", "#microsoft.graph.group"}},
		{"/v1.0/users/" + gUPN + "/transitiveMemberOf/microsoft.graph.group?$select=id", groups, []string{"#microsoft.graph.group", "#microsoft.graph.group"}},
		{"/v1.0/users/" + gUser + "/transitiveMemberOf/graph.directoryRole", []string{roleID}, []string{"#microsoft.graph.directoryRole"}},
		{"/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole?$select=id,roleTemplateId", []string{roleID}, []string{"#microsoft.graph.directoryRole"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var items []map[string]any
			url := tc.path
			for url != "" {
				r := call(t, s, "GET", url, tok, nil)
				if r.status != 200 {
					t.Fatalf("%d %s", r.status, r.raw)
				}
				items = append(items, r.values()...)
				url, _ = r.body["@odata.nextLink"].(string)
			}
			var types []string
			for _, it := range items {
				types = append(types, it["@odata.type"].(string))
				if it["@odata.type"] == "#microsoft.graph.directoryRole" && it["roleTemplateId"] != gRoleTmpl {
					t.Errorf("role without roleTemplateId: %v", it)
				}
			}
			if !reflect.DeepEqual(ids(items), tc.wantIDs) || !reflect.DeepEqual(types, tc.wantTypes) {
				t.Errorf("got %v %v, want %v %v", ids(items), types, tc.wantIDs, tc.wantTypes)
			}
		})
	}
	if r := call(t, s, "GET", "/v1.0/users/"+gUser+"/transitiveMemberOf/graph.user", tok, nil); r.status != 400 {
		t.Errorf("unsupported cast: %d, want 400", r.status)
	}
}

func TestGraphDomainsAndPerUserMFA(t *testing.T) {
	s := newGraphSim(t)
	tok := mintToken(t, s, gUser, gApp, fullScopes)
	r := call(t, s, "GET", "/v1.0/domains?$select=id,isDefault,isVerified,passwordValidityPeriodInDays", tok, nil)
	got := map[string]any{}
	for _, d := range r.values() {
		got[d["id"].(string)] = []any{d["isDefault"], d["passwordValidityPeriodInDays"]}
	}
	want := map[string]any{"graphco.onmicrosoft.com": []any{false, float64(90)}, "graphco.example": []any{true, float64(60)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("domains %v, want %v", got, want)
	}
	mfa := call(t, s, "GET", "/beta/users/"+gUser+"/authentication/requirements", tok, nil)
	if mfa.status != 200 || mfa.body["perUserMfaState"] != "enforced" {
		t.Errorf("per-user MFA: %d %s", mfa.status, mfa.raw)
	}
	if v1 := call(t, s, "GET", "/v1.0/users/"+gUser+"/authentication/requirements", tok, nil); v1.status == 200 {
		t.Errorf("authentication/requirements is beta only, v1.0 answered 200")
	}
}

func TestGraphPermissionsAndLicence(t *testing.T) {
	s := newGraphSim(t)
	narrow := mintToken(t, s, gUser, gNarrowApp, "User.Read")
	full := mintToken(t, s, gUser, gApp, fullScopes)
	noDirectory := mintToken(t, s, gUser, gApp, "AuditLog.Read.All")
	for _, tc := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"policies without Policy.Read.All", "/v1.0/identity/conditionalAccess/policies", narrow, 403, "AccessDenied"},
		{"sign-ins without AuditLog.Read.All", "/v1.0/auditLogs/signIns", narrow, 403, "Authentication_MSGraphPermissionMissing"},
		{"sign-ins without Directory.Read.All", "/beta/auditLogs/signIns", noDirectory, 403, "Authentication_MSGraphPermissionMissing"},
		{"user without User.Read.All", "/v1.0/users/" + gOther, narrow, 403, "Authorization_RequestDenied"},
		{"me with User.Read", "/v1.0/me", narrow, 200, ""},
		{"sign-ins with both", "/v1.0/auditLogs/signIns", full, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "GET", tc.path, tc.token, nil)
			if r.status != tc.status || r.errorCode() != tc.code {
				t.Errorf("got %d %q, want %d %q: %s", r.status, r.errorCode(), tc.status, tc.code, r.raw)
			}
		})
	}
	if err := s.SetGraphControls(gTenant, GraphTenantControls{NoP1Licence: true}); err != nil {
		t.Fatal(err)
	}
	s.Advance(10 * time.Second)
	r := call(t, s, "GET", "/v1.0/auditLogs/signIns", full, nil)
	if r.status != 403 || r.errorCode() != "Authentication_RequestFromNonPremiumTenantOrB2CTenant" {
		t.Errorf("without P1: %d %s", r.status, r.raw)
	}
}

func TestGraphCAEChallenge(t *testing.T) {
	s := newGraphSim(t)
	old := mintToken(t, s, gUser, gApp, fullScopes)
	if err := s.SetGraphControls(gTenant, GraphTenantControls{CAEChallenge: true}); err != nil {
		t.Fatal(err)
	}
	r := call(t, s, "GET", "/v1.0/me", old, nil)
	h := r.header.Get("WWW-Authenticate")
	m := regexp.MustCompile(`error="insufficient_claims", claims="([^"]+)"`).FindStringSubmatch(h)
	if r.status != 401 || m == nil {
		t.Fatalf("got %d, WWW-Authenticate %q; want 401 with an insufficient_claims challenge", r.status, h)
	}
	claims, err := base64.StdEncoding.DecodeString(m[1])
	var parsed map[string]map[string]map[string]any
	if err != nil || json.Unmarshal(claims, &parsed) != nil || parsed["access_token"]["nbf"]["essential"] != true {
		t.Fatalf("claims %q do not decode to an nbf claims request", m[1])
	}
	if s.GraphControls(gTenant).CAEChallenge {
		t.Error("the challenge should disarm once delivered")
	}
	if again := call(t, s, "GET", "/v1.0/me", old, nil); again.status != 401 {
		t.Errorf("the challenged token passed on retry: %d", again.status)
	}
	fresh := mintToken(t, s, gUser, gApp, fullScopes)
	if ok := call(t, s, "GET", "/v1.0/me", fresh, nil); ok.status != 200 {
		t.Errorf("a fresh token was refused: %d %s", ok.status, ok.raw)
	}
}

func TestGraphWhatIf(t *testing.T) {
	s := newGraphSim(t)
	tok := mintToken(t, s, gUser, gApp, fullScopes)
	body := func(ip, clientAppType string, appliedOnly bool) string {
		b, _ := json.Marshal(map[string]any{
			"signInIdentity":      map[string]any{"@odata.type": "#microsoft.graph.userSignIn", "userId": gUser},
			"signInContext":       map[string]any{"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": []string{GraphAppID}},
			"signInConditions":    map[string]any{"ipAddress": ip, "clientAppType": clientAppType, "devicePlatform": "linux"},
			"appliedPoliciesOnly": appliedOnly,
		})
		return string(b)
	}
	for _, tc := range []struct {
		name string
		body string
		want map[string]string // policy name -> applies:reasons
	}{
		{"desktop client at the egress address", body("127.0.0.1", "mobileAppsAndDesktopClients", false), map[string]string{
			"MFA for admins": "false:users", "Report-only MFA for sync group": "true:notSet",
			"Block outside egress": "false:location", "Compliant device for browsers": "false:clientApps",
			"Sign-in frequency 4 hours for device code": "false:policyNotEnabled",
		}},
		{"browser elsewhere, applied only", body("10.9.8.7", "browser", true), map[string]string{
			"Report-only MFA for sync group": "true:notSet", "Block outside egress": "true:notSet", "Compliant device for browsers": "true:notSet",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "POST", "/v1.0/identity/conditionalAccess/evaluate", tok, strings.NewReader(tc.body))
			s.Advance(time.Second)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			got := map[string]string{}
			for _, v := range r.values() {
				got[v["displayName"].(string)] = strings.ToLower(jsonText(v["policyApplies"])) + ":" + v["analysisReasons"].(string)
				if v["conditions"] == nil {
					t.Errorf("result for %s lacks the policy body", v["displayName"])
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}
	r := call(t, s, "POST", "/v1.0/identity/conditionalAccess/evaluate", tok, strings.NewReader(`{"signInIdentity":{"userId":"`+gUser+`"}}`))
	if r.status != 400 || !strings.Contains(r.raw, "includeApplications") {
		t.Errorf("missing signInContext: %d %s", r.status, r.raw)
	}
}

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestGraphAdminAPI(t *testing.T) {
	s := newGraphSim(t)
	admin := func(method, path, body string) gResp {
		return call(t, s, method, path, "", strings.NewReader(body))
	}
	if r := admin("PUT", "/_sim/graph/limits", `{"signInsPerWindw": 3}`); r.status != 400 || !strings.Contains(r.raw, `unknown field \"signInsPerWindw\"`) {
		t.Errorf("misspelt limit: %d %s", r.status, r.raw)
	}
	if r := admin("PUT", "/_sim/graph/limits", `{"policyPageSize": 0}`); r.status != 400 || !strings.Contains(r.raw, "policyPageSize 0") {
		t.Errorf("invalid page size: %d %s", r.status, r.raw)
	}
	r := admin("PUT", "/_sim/graph/limits", `{"signInsPerWindow": 3, "signInWindow": "1m", "caPoliciesPerSecond": 0}`)
	if r.status != 200 || s.GraphLimits().SignInsPerWindow != 3 || time.Duration(s.GraphLimits().SignInWindow) != time.Minute {
		t.Errorf("limits not applied: %d %s", r.status, r.raw)
	}
	if r := admin("PATCH", "/_sim/graph/tenants/graphco.onmicrosoft.com", `{"noP1Licence": true}`); r.status != 200 || !s.GraphControls(gTenant).NoP1Licence {
		t.Errorf("controls not applied: %d %s", r.status, r.raw)
	}
	if r := admin("PATCH", "/_sim/graph/tenants/nope.example", `{}`); r.status != 404 {
		t.Errorf("unknown tenant: %d", r.status)
	}
	stats := admin("GET", "/_sim/graph/stats", "")
	keys := make([]string, 0, len(stats.body))
	for k := range stats.body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !reflect.DeepEqual(keys, []string{"byStatus", "requests", "throttled"}) {
		t.Errorf("stats keys %v", keys)
	}
}

func TestGraphStateReleasedOnClose(t *testing.T) {
	s := newGraphSim(t)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	call(t, s, "GET", "/v1.0/domains", mintToken(t, s, gUser, gApp, fullScopes), nil)
	if s.GraphStats().Requests != 1 {
		t.Fatal("request not counted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := graphAPIs.Load(s); ok {
		t.Error("Close left the server's Graph state in the registry")
	}
	if st := s.GraphStats(); st.Requests != 0 || s.GraphLimits() != DefaultGraphLimits() {
		t.Errorf("after Close: %+v", st)
	}
}
