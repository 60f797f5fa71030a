package entrasim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

// Test fixtures: one tenant, one service account, the canary app.
const (
	testTenant = "9d3f1c2a-7b4e-4c5d-8e6f-0a1b2c3d4e5f"
	testDomain = "testco.onmicrosoft.com"
	testUser   = "0c0c0c0c-0000-4000-8000-000000000001"
	testUPN    = "svc@testco.onmicrosoft.com"
	testApp    = "7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b"
	graphScope = "https://graph.microsoft.com/.default"
)

var testStart = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// testScenario renders a one-tenant scenario; extra is appended to the
// tenant (policies:, events:, groups: ...), options to its options block.
func testScenario(t testing.TB, options, extra string) *Scenario {
	t.Helper()
	if !strings.Contains(options, "autoApproveDeviceCode") {
		options = "autoApproveDeviceCode: true\n" + options
	}
	y := `tenants:
  - id: ` + testTenant + `
    domain: ` + testDomain + `
    options:
      countries: {"127.0.0.0/8": "US", "::1/128": "US"}
` + indent(options, "      ") + `
    users:
      - id: ` + testUser + `
        upn: ` + testUPN + `
        mfaMethods: [microsoftAuthenticator]
        passwordLastChanged: -10d
      - id: 0c0c0c0c-0000-4000-8000-000000000002
        upn: admin@testco.onmicrosoft.com
    groups:
      - id: 0c0c0c0c-0000-4000-8000-0000000000a1
        displayName: Sync
        members: [0c0c0c0c-0000-4000-8000-0000000000a2]
      - id: 0c0c0c0c-0000-4000-8000-0000000000a2
        displayName: Nested sync
        members: [` + testUPN + `]
    roles:
      - templateId: 88d8e3e3-8f55-4a1e-953a-9b9898b8876b
        displayName: Directory Readers
        members: [` + testUPN + `]
    apps:
      - appId: ` + testApp + `
        displayName: tokenhealth canary
        public: true
        consentedScopes: [Policy.Read.All, AuditLog.Read.All]
` + indent(extra, "    ")
	sc, err := ParseScenario([]byte(y))
	if err != nil {
		t.Fatalf("test scenario: %v\n%s", err, y)
	}
	return sc
}

func indent(s, prefix string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// startSim runs a simulator on a frozen virtual clock at testStart.
func startSim(t testing.TB, sc *Scenario) *Server {
	t.Helper()
	return startSimAt(t, sc, testStart)
}

func startSimAt(t testing.TB, sc *Scenario, start time.Time) *Server {
	t.Helper()
	s, err := New(Options{Scenario: sc, Clock: clock.NewVirtual(start, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// memCache is an MSAL cache accessor; hideAT drops cached access tokens on
// the next read, forcing a refresh-token redemption (option B).
type memCache struct {
	mu     sync.Mutex
	data   []byte
	hideAT bool
}

func (c *memCache) Replace(_ context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	c.mu.Lock()
	data, hide := c.data, c.hideAT
	c.hideAT = false
	c.mu.Unlock()
	if hide && len(data) > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return err
		}
		delete(m, "AccessToken")
		data, _ = json.Marshal(m)
	}
	return u.Unmarshal(data)
}

func (c *memCache) Export(_ context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.data = b
	c.mu.Unlock()
	return nil
}

type transportMode string

const (
	modeA transportMode = "explicit-address"
	modeB transportMode = "production-hosts"
)

// canary is a real MSAL public client bound to one tenant of the simulator.
type canary struct {
	app   public.Client
	cache *memCache
	acct  public.Account
}

func newCanary(t testing.TB, s *Server, mode transportMode, tenant string) *canary {
	t.Helper()
	return newCanaryApp(t, s, mode, tenant, testApp)
}

func newCanaryApp(t testing.TB, s *Server, mode transportMode, tenant, appID string) *canary {
	t.Helper()
	c := &canary{cache: &memCache{}}
	var opts []public.Option
	switch mode {
	case modeA:
		opts = append(opts, public.WithAuthority(s.BaseURL()+"/"+tenant), public.WithInstanceDiscovery(false),
			public.WithHTTPClient(&http.Client{Transport: s.ClientTransport(), Timeout: 30 * time.Second}))
	case modeB:
		opts = append(opts, public.WithAuthority("https://login.microsoftonline.com/"+tenant),
			public.WithHTTPClient(&http.Client{Transport: s.RedirectTransport(), Timeout: 30 * time.Second}))
	}
	opts = append(opts, public.WithCache(c.cache))
	app, err := public.New(appID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c.app = app
	return c
}

// enroll runs the device code flow to completion (the tenant auto-approves).
func (c *canary) enroll(t testing.TB) public.AuthResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dc, err := c.app.AcquireTokenByDeviceCode(ctx, []string{graphScope})
	if err != nil {
		t.Fatalf("device code: %v", err)
	}
	ar, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("device code result: %v", err)
	}
	c.acct = ar.Account
	return ar
}

// refresh forces a refresh-token redemption with the claims option (A).
func (c *canary) refresh(ctx context.Context) (public.AuthResult, error) {
	claims := `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`
	return c.app.AcquireTokenSilent(ctx, []string{graphScope}, public.WithSilentAccount(c.acct), public.WithClaims(claims))
}

// aadBody extracts the token endpoint's JSON error from an MSAL error.
type aadBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	Codes         []int  `json:"error_codes"`
	SubError      string `json:"suberror"`
	Claims        string `json:"claims"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	ErrorURI      string `json:"error_uri"`
	Timestamp     string `json:"timestamp"`
}

func callErrBody(t testing.TB, err error) (int, aadBody) {
	t.Helper()
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) || ce.Resp == nil {
		t.Fatalf("want an MSAL CallErr, got %T: %v", err, err)
	}
	body, _ := io.ReadAll(ce.Resp.Body)
	ce.Resp.Body = io.NopCloser(bytes.NewReader(body))
	if len(bytes.TrimSpace(body)) == 0 { // device code poller drained it
		msg := ce.Err.Error()
		body = []byte(msg[strings.Index(msg, "\n")+1:])
	}
	var b aadBody
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, body)
	}
	return ce.Resp.StatusCode, b
}
