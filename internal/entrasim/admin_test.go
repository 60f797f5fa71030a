package entrasim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func adminDo(t *testing.T, s *Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.BaseURL()+path, bytes.NewBufferString(body))
	resp, err := (&http.Client{Transport: s.ClientTransport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestAdminMutations changes a tenant through the admin API and checks the
// model, and that bad requests name what is wrong.
func TestAdminMutations(t *testing.T) {
	s := startSim(t, testScenario(t, "", ""))
	tn := s.Tenant(testTenant)
	base := "/_sim/tenants/" + testTenant
	user := func() (u User) {
		tn.View(func(st *TenantState) { u = *st.Users[testUser] })
		return u
	}
	steps := []struct {
		method, path, body string
		status             int
		check              func() bool
	}{
		{"POST", "/_sim/clock/advance", `{"by":"36h"}`, 200, func() bool { return s.Now().Equal(testStart.Add(36 * time.Hour)) }},
		{"POST", "/_sim/clock/advance", `{"by":"-1h"}`, 400, nil},
		{"POST", base + "/policies", `{"value":[{"id":"dddddddd-0000-4000-8000-000000000001","displayName":"A","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}}}]}`, 201,
			func() (ok bool) { tn.View(func(st *TenantState) { ok = len(st.Policies) == 1 }); return }},
		{"PATCH", base + "/policies/dddddddd-0000-4000-8000-000000000001", `{"state":"disabled","conditions":{"users":{"excludeUsers":["` + testUser + `"]}}}`, 200,
			func() (ok bool) {
				tn.View(func(st *TenantState) {
					p := st.Policies[0]
					ok = p.State == "disabled" && p.compiled.excludeUsers[testUser] && p.compiled.includeUsers["all"]
				})
				return
			}},
		{"PATCH", base + "/policies/dddddddd-0000-4000-8000-000000000001", `{"state":"sometimes"}`, 400, nil},
		{"DELETE", base + "/policies/dddddddd-0000-4000-8000-000000000001", "", 200,
			func() (ok bool) { tn.View(func(st *TenantState) { ok = len(st.Policies) == 0 }); return }},
		{"DELETE", base + "/policies/dddddddd-0000-4000-8000-000000000001", "", 404, nil},
		{"POST", base + "/users/" + testUPN + "/changePassword", "", 200, func() bool {
			u := user()
			return u.LastPasswordChange.Equal(s.Now()) && u.TokensValidFrom.Equal(s.Now())
		}},
		{"POST", base + "/users/" + testUser + "/disable", "", 200, func() bool { return !user().AccountEnabled }},
		{"POST", base + "/users/" + testUser + "/enable", "", 200, func() bool { return user().AccountEnabled }},
		{"POST", base + "/users/" + testUser + "/perUserMfa", `{"state":"enforced"}`, 200, func() bool { return user().PerUserMFAState == "enforced" }},
		{"POST", base + "/users/" + testUser + "/perUserMfa", `{"state":"maybe"}`, 400, nil},
		{"POST", base + "/users/nobody@testco.onmicrosoft.com/disable", "", 404, nil},
		{"POST", base + "/groups/0c0c0c0c-0000-4000-8000-0000000000a2/members", `{"member":"` + testUPN + `","add":false}`, 200,
			func() bool { u := user(); return !u.InGroup("0c0c0c0c-0000-4000-8000-0000000000a1") }},
		{"POST", base + "/groups/0c0c0c0c-0000-4000-8000-0000000000a1/members", `{"member":"` + testUser + `","add":true}`, 200,
			func() bool { u := user(); return u.InGroup("0c0c0c0c-0000-4000-8000-0000000000a1") }},
		{"POST", base + "/groups/0c0c0c0c-0000-4000-8000-0000000000a1/members", `{"member":"` + testUser + `"}`, 400, nil},
		{"POST", "/_sim/tenants/unknown/users/x/disable", "", 404, nil},
		{"POST", "/_sim/devicecode/approve", `{"user_code":"NOPE"}`, 404, nil},
	}
	for i, st := range steps {
		status, out := adminDo(t, s, st.method, st.path, st.body)
		if status != st.status {
			t.Fatalf("step %d %s %s: status %d %v, want %d", i, st.method, st.path, status, out, st.status)
		}
		if status >= 400 && out["error"] == "" {
			t.Errorf("step %d: error body without a message", i)
		}
		if st.check != nil && !st.check() {
			t.Errorf("step %d %s %s: state not changed as expected", i, st.method, st.path)
		}
	}
}

// TestTenantsListing checks GET /_sim/tenants against the demo scenario.
func TestTenantsListing(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := (&http.Client{Transport: s.ClientTransport()}).Get(s.BaseURL() + "/_sim/tenants")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Now     time.Time       `json:"now"`
		Tenants []TenantSummary `json:"tenants"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Tenants) != 6 || !body.Now.Equal(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("got %d tenants at %v", len(body.Tenants), body.Now)
	}
	c := body.Tenants[0]
	if c.ID != "11111111-1111-4111-8111-111111111111" || c.Users[0].UserPrincipalName != "admin@contoso-healthy.onmicrosoft.com" ||
		c.ClientApps[0].AppID != CanaryAppID || len(c.NamedLocations) != 1 || len(c.PolicyIDs) != 1 {
		t.Errorf("contoso summary = %+v", c)
	}
}

// TestTenantsListingHidesSecrets: the listing names apps, never their
// credentials.
func TestTenantsListingHidesSecrets(t *testing.T) {
	_, _, certPEM := testCert(t)
	s := startSim(t, confidentialScenario(t, certPEM))
	b, err := json.Marshal(s.Summaries())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("s3cret-value")) || bytes.Contains(b, []byte("BEGIN CERTIFICATE")) {
		t.Errorf("listing leaks credentials: %s", b)
	}
}
