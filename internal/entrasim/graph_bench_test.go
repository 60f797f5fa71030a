package entrasim

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// Simulator-side cost of the Graph endpoints (handler only, no TLS), with
// throttling off so the numbers are the serving cost:
//
//	go test -run '^$' -bench GraphServe ./internal/entrasim/
func BenchmarkGraphServe(b *testing.B) {
	s := newGraphSim(b)
	if err := s.SetGraphLimits(GraphLimits{PolicyPageSize: 2, SignInPageSize: 50, MemberPageSize: 2}); err != nil {
		b.Fatal(err)
	}
	t := s.Tenant(gTenant)
	for i := range 1000 { // a full sign-in log
		s.RecordSignIn(t, SignIn{ID: newGUID(), CreatedDateTime: gStart.Add(-time.Duration(i) * time.Minute),
			UserID: gUser, AppID: gApp, IsInteractive: i%10 == 0, SignInEventTypes: []string{map[bool]string{true: "interactiveUser", false: "nonInteractiveUser"}[i%10 == 0]}})
	}
	tok := mintToken(b, s, gUser, gApp, fullScopes)
	filter := url.QueryEscape("userId eq '" + gUser + "' and createdDateTime ge 2026-03-01T00:00:00Z and signInEventTypes/any(t: t eq 'nonInteractiveUser')")
	for _, tc := range []struct{ name, path string }{
		{"policies-page", "/v1.0/identity/conditionalAccess/policies"},
		{"user-select", "/v1.0/users/" + gUPN + "?$select=id,accountEnabled,lastPasswordChangeDateTime"},
		{"signins-filtered-1000", "/beta/auditLogs/signIns?$top=50&$filter=" + filter},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", "https://graph.microsoft.com"+tc.path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				rec := httptest.NewRecorder()
				s.Handler().ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
