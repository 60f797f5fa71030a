package entrasim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// adminPost calls the simulator's admin API.
func adminPost(t *testing.T, s *Server, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	hc := &http.Client{Transport: s.ClientTransport()}
	resp, err := hc.Post(s.BaseURL()+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestDeviceCodeDecisions drives the device code flow of a tenant that does
// not auto-approve: approval and decline through the admin API, and expiry
// by moving the virtual clock.
func TestDeviceCodeDecisions(t *testing.T) {
	cases := []struct {
		name    string
		act     func(t *testing.T, s *Server, userCode string)
		wantErr string // "" = success; else the OAuth error
		code    int
	}{
		{name: "approved with MFA", act: func(t *testing.T, s *Server, uc string) {
			st, out := adminPost(t, s, "/_sim/devicecode/approve", map[string]any{"user_code": uc, "user": testUPN, "mfa": true})
			if st != 200 {
				t.Fatalf("approve: %d %v", st, out)
			}
		}},
		{name: "declined", act: func(t *testing.T, s *Server, uc string) {
			if st, out := adminPost(t, s, "/_sim/devicecode/approve", map[string]any{"user_code": uc, "decline": true}); st != 200 {
				t.Fatalf("decline: %d %v", st, out)
			}
		}, wantErr: "authorization_declined", code: 70000},
		{name: "expired", act: func(t *testing.T, s *Server, uc string) { s.Advance(16 * time.Minute) },
			wantErr: "expired_token", code: 70019},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startSim(t, testScenario(t, "autoApproveDeviceCode: false", ""))
			c := newCanary(t, s, modeA, testTenant)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dc, err := c.app.AcquireTokenByDeviceCode(ctx, []string{graphScope})
			if err != nil {
				t.Fatal(err)
			}
			if dc.Result.UserCode == "" || !strings.Contains(dc.Result.Message, dc.Result.UserCode) {
				t.Fatalf("device code result = %+v", dc.Result)
			}
			time.Sleep(300 * time.Millisecond) // let MSAL see authorization_pending first
			tc.act(t, s, dc.Result.UserCode)
			ar, err := dc.AuthenticationResult(ctx)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				amr := decodeJWTPayload(t, ar.IDToken.RawToken)["amr"]
				if fmt.Sprint(amr) != "[pwd mfa]" {
					t.Errorf("amr = %v, want [pwd mfa]", amr)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			_, b := callErrBody(t, err)
			if b.Error != tc.wantErr || len(b.Codes) != 1 || b.Codes[0] != tc.code {
				t.Fatalf("got %q %v, want %q [%d]", b.Error, b.Codes, tc.wantErr, tc.code)
			}
		})
	}
}

// TestAuthorizationCodePKCE signs in through the authorize endpoint with
// MSAL's interactive flow (PKCE S256), then refreshes; the session is not
// protocol tracked, so a device-code-flow block does not touch it.
func TestAuthorizationCodePKCE(t *testing.T) {
	for _, mode := range []transportMode{modeA, modeB} {
		t.Run(string(mode), func(t *testing.T) {
			s := startSim(t, testScenario(t, "interactiveMfa: true", ""))
			c := newCanary(t, s, mode, testTenant)
			tr := s.ClientTransport()
			if mode == modeB {
				tr = s.RedirectTransport()
			}
			browser := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			openURL := func(u string) error {
				resp, err := browser.Get(u)
				if err != nil {
					return err
				}
				page, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				action, form, err := parseFormPost(string(page))
				if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(action, "http://localhost") {
					return fmt.Errorf("authorize answered %d (%v): %s", resp.StatusCode, err, page)
				}
				go func() { // the page's script posts the code to MSAL's loopback listener
					if r, err := http.PostForm(action, form); err == nil {
						r.Body.Close()
					}
				}()
				return nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ar, err := c.app.AcquireTokenInteractive(ctx, []string{graphScope}, public.WithOpenURL(openURL))
			if err != nil {
				t.Fatalf("interactive: %v", err)
			}
			c.acct = ar.Account
			if ar.IDToken.Oid != testUser {
				t.Errorf("signed in %q, want %q", ar.IDToken.Oid, testUser)
			}
			mustAddPolicy(t, s, `{"displayName":"No device code","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"],"authenticationFlows":{"transferMethods":"deviceCodeFlow"}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`)
			mustAddPolicy(t, s, `{"displayName":"MFA","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`)
			if _, err := c.refresh(ctx); err != nil {
				t.Fatalf("refresh of an auth-code session with MFA: %v", err)
			}
			sess := s.Tenant(testTenant).Sessions()
			if len(sess) != 1 || sess[0].Flow != FlowAuthorizationCode || !sess[0].HasMFA() {
				t.Errorf("sessions = %+v", sess)
			}
		})
	}
}

var formInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)" />`)
var formAction = regexp.MustCompile(`<form method="POST" name="hiddenform" action="([^"]+)">`)

// parseFormPost reads the target and fields of a form_post page.
func parseFormPost(page string) (string, url.Values, error) {
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		return "", nil, fmt.Errorf("no form_post form")
	}
	form := url.Values{}
	for _, in := range formInput.FindAllStringSubmatch(page, -1) {
		form.Set(in[1], html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), form, nil
}

func TestPKCEVerifierMismatch(t *testing.T) {
	if pkceOK("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256", "wrong") {
		t.Error("wrong verifier accepted")
	}
	if !pkceOK("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") {
		t.Error("RFC 7636 appendix B example rejected")
	}
}

// TestUnknownTenant: MSAL fails resolving the authority with 90002.
func TestUnknownTenant(t *testing.T) {
	s := startSim(t, testScenario(t, "", ""))
	c := newCanary(t, s, modeA, "00000000-aaaa-4bbb-8ccc-000000000000")
	_, err := c.app.AcquireTokenByDeviceCode(context.Background(), []string{graphScope})
	if err == nil {
		t.Fatal("want an error")
	}
	_, b := callErrBody(t, err)
	if b.Codes[0] != 90002 || b.Error != "invalid_request" || !strings.Contains(b.Description, "Tenant '00000000-aaaa-4bbb-8ccc-000000000000' not found.") {
		t.Fatalf("got %+v", b)
	}
}

// confidentialScenario adds a confidential app with a secret and a
// certificate.
func confidentialScenario(t *testing.T, certPEM string) *Scenario {
	// The extra block continues testScenario's apps list.
	return testScenario(t, "", `  - appId: 5a5a5a5a-1111-4222-8333-444444444444
    displayName: platform backend
    secrets: [s3cret-value]
    certificates:
      - |
`+indent(certPEM, "        ")+`    appRoles: [Policy.Read.All]
`)
}

func testCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey, string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "backend"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestClientCredentials uses MSAL's confidential client with a secret, a
// wrong secret (7000215) and a certificate assertion.
func TestClientCredentials(t *testing.T) {
	cert, key, certPEM := testCert(t)
	otherCert, otherKey, _ := testCert(t)
	s := startSim(t, confidentialScenario(t, certPEM))
	secret, _ := confidential.NewCredFromSecret("s3cret-value")
	wrong, _ := confidential.NewCredFromSecret("not-the-secret")
	certCred, err := confidential.NewCredFromCert([]*x509.Certificate{cert}, key)
	if err != nil {
		t.Fatal(err)
	}
	unregistered, err := confidential.NewCredFromCert([]*x509.Certificate{otherCert}, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cred confidential.Credential
		code int
	}{
		{"secret", secret, 0},
		{"wrong secret", wrong, 7000215},
		{"certificate", certCred, 0},
		{"unregistered certificate", unregistered, 700027},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app, err := confidential.New("https://login.microsoftonline.com/"+testTenant, "5a5a5a5a-1111-4222-8333-444444444444", tc.cred,
				confidential.WithHTTPClient(&http.Client{Transport: s.RedirectTransport()}))
			if err != nil {
				t.Fatal(err)
			}
			ar, err := app.AcquireTokenByCredential(context.Background(), []string{graphScope})
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("want a token, got %v", err)
				}
				_, claims, err := s.ValidateAccessToken(ar.AccessToken)
				if err != nil || claims.UserID != "" || fmt.Sprint(claims.Roles) != "[Policy.Read.All]" {
					t.Errorf("app-only claims = %+v, %v", claims, err)
				}
				return
			}
			status, b := callErrBody(t, err)
			if status != http.StatusUnauthorized || b.Error != "invalid_client" || b.Codes[0] != tc.code {
				t.Fatalf("got %d %q %v, want 401 invalid_client [%d]", status, b.Error, b.Codes, tc.code)
			}
		})
	}
}

// TestRefreshTokenRotation: every redemption returns a new refresh token,
// and the old one keeps working until its own inactivity expiry.
func TestRefreshTokenRotation(t *testing.T) {
	s := startSim(t, testScenario(t, "", ""))
	c := newCanary(t, s, modeA, testTenant)
	c.enroll(t)
	rt1 := refreshTokenFromCache(t, c)
	s.Advance(80 * 24 * time.Hour)
	if _, err := c.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	rt2 := refreshTokenFromCache(t, c)
	if rt1 == rt2 {
		t.Fatal("refresh token did not rotate")
	}
	post := func(rt string) (int, aadBody) {
		form := "grant_type=refresh_token&client_id=" + testApp + "&scope=" + graphScope + "+offline_access&refresh_token=" + rt
		resp, err := (&http.Client{Transport: s.ClientTransport()}).Post(s.BaseURL()+"/"+testTenant+"/oauth2/v2.0/token",
			"application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b aadBody
		_ = json.NewDecoder(resp.Body).Decode(&b)
		return resp.StatusCode, b
	}
	if st, b := post(rt1); st != 200 {
		t.Fatalf("old refresh token rejected before its expiry: %d %v", st, b.Codes)
	}
	s.Advance(11 * 24 * time.Hour) // rt1 is now 91 days old, rt2 11 days
	if st, b := post(rt1); st != 400 || b.Codes[0] != 700082 {
		t.Fatalf("91-day-old refresh token: %d %v, want 700082", st, b.Codes)
	}
	if st, b := post(rt2); st != 200 {
		t.Fatalf("rotated refresh token rejected: %d %v", st, b.Codes)
	}
	if st, b := post(rt2[:len(rt2)-3] + "AAA"); st != 400 || b.Codes[0] != 9002313 {
		t.Fatalf("forged refresh token: %d %v, want 9002313", st, b.Codes)
	}
}

func refreshTokenFromCache(t *testing.T, c *canary) string {
	t.Helper()
	var blob struct {
		RefreshToken map[string]struct {
			Secret string `json:"secret"`
		} `json:"RefreshToken"`
	}
	c.cache.mu.Lock()
	err := json.Unmarshal(c.cache.data, &blob)
	c.cache.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range blob.RefreshToken {
		return v.Secret
	}
	t.Fatal("no refresh token cached")
	return ""
}

// TestInteractiveStepUpMFA: when a policy demands MFA at an interactive
// sign-in, a user with a registered method performs it (amr gets "mfa");
// a user without one cannot, and the sign-in fails with 50079.
func TestInteractiveStepUpMFA(t *testing.T) {
	mfaAll := "policies:\n" + policyYAML("MFA", "enabled", "{includeUsers: [All]}", "{operator: OR, builtInControls: [mfa]}", "")
	for _, tc := range []struct {
		name    string
		methods bool
		code    int
	}{{"with a method", true, 0}, {"without a method", false, 50079}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSim(t, testScenario(t, "", mfaAll))
			if !tc.methods {
				_ = s.Tenant(testTenant).Update(func(st *TenantState) error { st.Users[testUser].MFAMethods = nil; return nil })
			}
			c := newCanary(t, s, modeA, testTenant)
			ctx := context.Background()
			dc, err := c.app.AcquireTokenByDeviceCode(ctx, []string{graphScope})
			if err != nil {
				t.Fatal(err)
			}
			ar, err := dc.AuthenticationResult(ctx)
			if tc.code != 0 {
				if _, b := callErrBody(t, err); b.Codes[0] != tc.code {
					t.Fatalf("got %v, want %d", b.Codes, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if amr := decodeJWTPayload(t, ar.IDToken.RawToken)["amr"]; fmt.Sprint(amr) != "[pwd mfa]" {
				t.Errorf("amr = %v", amr)
			}
			c.acct = ar.Account
			if _, err := c.refresh(ctx); err != nil {
				t.Errorf("refresh of the MFA session: %v", err)
			}
		})
	}
}
