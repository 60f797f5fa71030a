package entrasim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// TestMSALLifecycle runs the real MSAL Go public client through enrollment,
// a cached silent call, and both forced-refresh techniques, in both
// transport modes.
func TestMSALLifecycle(t *testing.T) {
	for _, mode := range []transportMode{modeA, modeB} {
		t.Run(string(mode), func(t *testing.T) {
			s := startSim(t, testScenario(t, "includeAuthTime: true", ""))
			c := newCanary(t, s, mode, testTenant)
			ar := c.enroll(t)
			if got := ar.Account.HomeAccountID; got != testUser+"."+testTenant {
				t.Errorf("HomeAccountID = %q, want %q", got, testUser+"."+testTenant)
			}
			if ar.IDToken.PreferredUsername != testUPN || ar.IDToken.TenantID != testTenant || ar.IDToken.Oid != testUser {
				t.Errorf("id token = %+v", ar.IDToken)
			}
			idc := decodeJWTPayload(t, ar.IDToken.RawToken)
			if idc["auth_time"] != float64(testStart.Unix()) {
				t.Errorf("auth_time = %v, want %d", idc["auth_time"], testStart.Unix())
			}
			atc := decodeJWTPayload(t, ar.AccessToken)
			if atc["scp"] != "Policy.Read.All AuditLog.Read.All" || atc["appid"] != testApp || atc["tid"] != testTenant || atc["oid"] != testUser {
				t.Errorf("access token claims = %v", atc)
			}
			if got := strings.Join(ar.GrantedScopes, " "); got != "https://graph.microsoft.com/Policy.Read.All https://graph.microsoft.com/AuditLog.Read.All "+graphScope {
				t.Errorf("granted scopes = %q", got)
			}
			if tn, cl, err := s.ValidateAccessToken(ar.AccessToken); err != nil || tn.ID != testTenant || cl.UserID != testUser {
				t.Fatalf("ValidateAccessToken = %v, %+v, %v", tn, cl, err)
			}

			ctx := context.Background()
			accts, err := c.app.Accounts(ctx)
			if err != nil || len(accts) != 1 {
				t.Fatalf("Accounts = %v, %v", accts, err)
			}
			cached, err := c.app.AcquireTokenSilent(ctx, []string{graphScope}, public.WithSilentAccount(accts[0]))
			if err != nil {
				t.Fatalf("silent: %v", err)
			}
			if cached.Metadata.TokenSource != public.TokenSourceCache {
				t.Errorf("silent call did not use the cache")
			}

			s.Advance(time.Hour)
			forcedA, err := c.refresh(ctx)
			if err != nil {
				t.Fatalf("forced refresh (claims): %v", err)
			}
			if forcedA.Metadata.TokenSource != public.TokenSourceIdentityProvider || forcedA.AccessToken == ar.AccessToken {
				t.Errorf("claims refresh did not redeem the refresh token")
			}
			c.cache.hideAT = true
			forcedB, err := c.app.AcquireTokenSilent(ctx, []string{graphScope}, public.WithSilentAccount(accts[0]))
			if err != nil {
				t.Fatalf("forced refresh (cache hiding): %v", err)
			}
			if forcedB.Metadata.TokenSource != public.TokenSourceIdentityProvider {
				t.Errorf("cache-hiding refresh did not redeem the refresh token")
			}
			var sessions []Session
			sessions = s.Tenant(testTenant).Sessions()
			if len(sessions) != 1 || sessions[0].Redemptions != 2 || sessions[0].Flow != FlowDeviceCode {
				t.Errorf("sessions = %+v, want one device-code session redeemed twice", sessions)
			}
			recs := s.Tenant(testTenant).SignIns(nil)
			if len(recs) != 3 || !recs[2].IsInteractive || recs[0].IsInteractive || recs[0].SignInEventTypes[0] != "nonInteractiveUser" {
				t.Errorf("sign-ins = %+v", recs)
			}
		})
	}
}

func decodeJWTPayload(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var descShape = regexp.MustCompile(`^AADSTS(\d+): .+\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$`)

// policyYAML is a policy entry for testScenario's extra block.
func policyYAML(name, state, users, grant, session string) string {
	y := "  - displayName: " + name + "\n    state: " + state + "\n    conditions:\n      users: " + users +
		"\n      applications: {includeApplications: [All]}\n      clientAppTypes: [all]\n"
	if grant != "" {
		y += "    grantControls: " + grant + "\n"
	}
	if session != "" {
		y += "    sessionControls: " + session + "\n"
	}
	return y
}

const sif7d = `{signInFrequency: {isEnabled: true, value: 7, type: days, authenticationType: primaryAndSecondaryAuthentication, frequencyInterval: timeBased}}`

// TestMSALFailures enrolls the real MSAL client, changes the tenant the way
// an administrator or time would, and checks that the next forced refresh
// fails with Entra's error: a CallErr whose body carries the right code,
// error, suberror and message values.
func TestMSALFailures(t *testing.T) {
	cases := []struct {
		name     string
		options  string
		extra    string
		mutate   func(t *testing.T, s *Server)
		code     int
		errName  string
		sub      string
		status   int
		contains string
		claims   string // prefix of the claims challenge, if one is expected
	}{
		{name: "inactivity 90 days", mutate: func(t *testing.T, s *Server) { s.Advance(91 * 24 * time.Hour) },
			code: 700082, errName: "invalid_grant", sub: "bad_token", status: 400,
			contains: "The token was issued on 2026-03-02T08:00:00.0000000Z and was inactive for 90.00:00:00."},
		{name: "sign-in frequency 7 days", extra: "policies:\n" + policyYAML("SIF 7d", "enabled", "{includeUsers: [All]}", "", sif7d),
			mutate: func(t *testing.T, s *Server) { s.Advance(7*24*time.Hour + time.Minute) },
			code:   70043, errName: "invalid_grant", sub: "bad_token", status: 400,
			contains: "The token was issued on 2026-03-02T08:00:00.0000000Z and the maximum allowed lifetime for this request is 604800."},
		{name: "sign-in frequency every time", extra: "policies:\n" + policyYAML("Every time", "enabled", "{includeUsers: [All]}", "",
			`{signInFrequency: {isEnabled: true, authenticationType: primaryAndSecondaryAuthentication, frequencyInterval: everyTime}}`),
			mutate: func(t *testing.T, s *Server) { s.Advance(6 * time.Minute) },
			code:   70043, errName: "invalid_grant", status: 400, contains: "maximum allowed lifetime for this request is 300."},
		{name: "MFA policy without MFA claim", mutate: func(t *testing.T, s *Server) {
			mustAddPolicy(t, s, `{"displayName":"MFA","state":"enabled","conditions":{"users":{"includeGroups":["0c0c0c0c-0000-4000-8000-0000000000a1"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`)
		}, code: 50076, errName: "invalid_grant", sub: "basic_action", status: 400, contains: "you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'",
			claims: `{"access_token":{"capolids":{"essential":true,"values":["`},
		{name: "MFA registration required", mutate: func(t *testing.T, s *Server) {
			_ = s.Tenant(testTenant).Update(func(st *TenantState) error { st.Users[testUser].MFAMethods = nil; return nil })
			mustAddPolicy(t, s, `{"displayName":"MFA","state":"enabled","conditions":{"users":{"includeRoles":["88d8e3e3-8f55-4a1e-953a-9b9898b8876b"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["mobileAppsAndDesktopClients"]},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`)
		}, code: 50079, errName: "invalid_grant", status: 400, contains: "you must enroll in multi-factor authentication",
			claims: `{"access_token":{"capolids":{"essential":true,"values":["`},
		{name: "per-user MFA enforced", mutate: func(t *testing.T, s *Server) {
			if err := s.Tenant(testTenant).SetPerUserMFA(testUPN, PerUserMFAEnforced); err != nil {
				t.Fatal(err)
			}
		}, code: 50076, errName: "invalid_grant", status: 400},
		{name: "remembered MFA expired", options: "interactiveMfa: true\nrememberMfaDays: 14", mutate: func(t *testing.T, s *Server) {
			if err := s.Tenant(testTenant).SetPerUserMFA(testUPN, PerUserMFAEnforced); err != nil {
				t.Fatal(err)
			}
			s.Advance(15 * 24 * time.Hour)
		}, code: 50078, errName: "invalid_grant", status: 400, contains: "Presented multi-factor authentication has expired"},
		{name: "block", mutate: func(t *testing.T, s *Server) {
			mustAddPolicy(t, s, `{"displayName":"Block","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},"grantControls":{"operator":"OR","builtInControls":["block"]}}`)
		}, code: 53003, errName: "invalid_grant", sub: "message_only", status: 400, contains: "Access has been blocked by Conditional Access policies."},
		{name: "compliant device", mutate: func(t *testing.T, s *Server) {
			mustAddPolicy(t, s, `{"displayName":"Compliant","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},"grantControls":{"operator":"AND","builtInControls":["compliantDevice"]}}`)
		}, code: 53000, errName: "invalid_grant", status: 400, contains: "required device state: compliant"},
		{name: "domain joined device", mutate: func(t *testing.T, s *Server) {
			mustAddPolicy(t, s, `{"displayName":"Hybrid","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},"grantControls":{"operator":"AND","builtInControls":["domainJoinedDevice"]}}`)
		}, code: 53001, errName: "invalid_grant", status: 400},
		{name: "managed device (compliant or joined)", mutate: func(t *testing.T, s *Server) {
			mustAddPolicy(t, s, `{"displayName":"Managed","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},"grantControls":{"operator":"OR","builtInControls":["compliantDevice","domainJoinedDevice"]}}`)
		}, code: 530003, errName: "invalid_grant", status: 400},
		{name: "device code flow blocked, refresh of a protocol-tracked session", mutate: func(t *testing.T, s *Server) {
			mustAddPolicy(t, s, `{"displayName":"No device code","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"],"authenticationFlows":{"transferMethods":"deviceCodeFlow"}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`)
		}, code: 53003, errName: "invalid_grant", status: 400},
		{name: "password change", mutate: func(t *testing.T, s *Server) {
			s.Advance(time.Hour)
			if err := s.Tenant(testTenant).ChangePassword(testUPN, s.Now()); err != nil {
				t.Fatal(err)
			}
		}, code: 50173, errName: "invalid_grant", status: 400,
			contains: "The grant was issued on '2026-03-02T08:00:00.0000000Z' and the TokensValidFrom date (before which tokens are not valid) for this user is '2026-03-02T09:00:00.0000000Z'."},
		{name: "admin revoke", mutate: func(t *testing.T, s *Server) {
			s.Advance(time.Minute)
			if err := s.Tenant(testTenant).RevokeSessions(testUser, s.Now()); err != nil {
				t.Fatal(err)
			}
		}, code: 50173, errName: "invalid_grant", status: 400},
		{name: "account disabled", mutate: func(t *testing.T, s *Server) {
			if err := s.Tenant(testTenant).SetAccountEnabled(testUPN, false); err != nil {
				t.Fatal(err)
			}
		}, code: 50057, errName: "invalid_grant", status: 400, contains: "The user account is disabled."},
		{name: "account locked", mutate: func(t *testing.T, s *Server) {
			if err := s.Tenant(testTenant).SetLocked(testUPN, true); err != nil {
				t.Fatal(err)
			}
		}, code: 50053, errName: "invalid_grant", status: 400},
		{name: "consent removed", mutate: func(t *testing.T, s *Server) {
			_ = s.Tenant(testTenant).Update(func(st *TenantState) error { st.Apps[testApp].ConsentedScopes = nil; return nil })
		}, code: 65001, errName: "invalid_grant", sub: "consent_required", status: 400,
			contains: "not consented to use the application with ID '" + testApp + "' named 'tokenhealth canary'"},
		{name: "app removed from tenant", mutate: func(t *testing.T, s *Server) {
			_ = s.Tenant(testTenant).Update(func(st *TenantState) error { delete(st.Apps, testApp); return nil })
		}, code: 700016, errName: "unauthorized_client", status: 400,
			contains: "Application with identifier '" + testApp + "' was not found in the directory '" + testTenant + "'."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startSim(t, testScenario(t, tc.options, tc.extra))
			c := newCanary(t, s, modeA, testTenant)
			c.enroll(t)
			tc.mutate(t, s)
			_, err := c.refresh(context.Background())
			if err == nil {
				t.Fatal("refresh succeeded, want an error")
			}
			status, b := callErrBody(t, err)
			if status != tc.status || len(b.Codes) != 1 || b.Codes[0] != tc.code || b.Error != tc.errName {
				t.Fatalf("got status %d error %q codes %v, want %d %q [%d]\n%s", status, b.Error, b.Codes, tc.status, tc.errName, tc.code, b.Description)
			}
			if tc.sub != "" && b.SubError != tc.sub {
				t.Errorf("suberror = %q, want %q", b.SubError, tc.sub)
			}
			m := descShape.FindStringSubmatch(b.Description)
			if m == nil || m[1] != strconv.Itoa(tc.code) {
				t.Errorf("error_description shape wrong: %q", b.Description)
			}
			if !strings.HasPrefix(b.Claims, tc.claims) || (tc.claims == "" && b.Claims != "") {
				t.Errorf("claims = %q, want prefix %q", b.Claims, tc.claims)
			}
			if tc.contains != "" && !strings.Contains(b.Description, tc.contains) {
				t.Errorf("error_description = %q, want it to contain %q", b.Description, tc.contains)
			}
			if b.ErrorURI != "https://login.microsoftonline.com/error?code="+strconv.Itoa(tc.code) || b.TraceID == "" || b.CorrelationID == "" || b.Timestamp == "" {
				t.Errorf("envelope incomplete: %+v", b)
			}
			recs := s.Tenant(testTenant).SignIns(nil)
			if len(recs) == 0 || recs[0].Status.ErrorCode != tc.code || recs[0].IsInteractive {
				t.Errorf("latest sign-in = %+v, want a non-interactive failure %d", recs[0], tc.code)
			}
		})
	}
}

func mustAddPolicy(t *testing.T, s *Server, raw string) {
	t.Helper()
	if _, err := s.Tenant(testTenant).AddPolicy(json.RawMessage(raw)); err != nil {
		t.Fatal(err)
	}
}
