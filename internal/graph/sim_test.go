package graph

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/transport"
)

// Fixture identifiers from testdata/graphco.yaml.
const (
	fxTenant    = "5a5a5a5a-1111-4222-8333-444444444444"
	fxUser      = "5a5a5a5a-0000-4000-8000-000000000001"
	fxUPN       = "svc@graphco.onmicrosoft.com"
	fxApp       = "7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b"
	fxNarrowApp = "5a5a5a5a-0000-4000-8000-0000000000ff"
	fxGroup     = "5a5a5a5a-0000-4000-8000-0000000000a1"
	fxNested    = "5a5a5a5a-0000-4000-8000-0000000000a2"
	fxRoleTmpl  = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
)

// Transport modes the product supports against the simulator.
type mode string

const (
	modeA mode = "explicit-address" // https://127.0.0.1:PORT, as for a proxy or sovereign cloud
	modeB mode = "production-hosts" // graph.microsoft.com over a redirecting dialer
)

// simSpeed runs virtual time 4x faster than real time: the published
// limits (1 CA read per second) cost about 280 ms of real time per read,
// and a millisecond of network jitter is only 4 ms of virtual time.
const simSpeed = 4

// env is one simulator plus the shared transport the product would use.
type env struct {
	t     testing.TB
	sim   *entrasim.Server
	clock *clock.Virtual
	mode  mode
	hc    *http.Client // Graph middleware client (NewHTTPClient)
	msal  *http.Client // plain client on the same pooled transport, for MSAL
}

func newEnv(t testing.TB, m mode) *env { return newEnvSpeed(t, m, simSpeed) }

func newEnvSpeed(t testing.TB, m mode, speed float64) *env {
	t.Helper()
	sc, err := entrasim.LoadScenarioFile("testdata/graphco.yaml")
	if err != nil {
		t.Fatal(err)
	}
	start, _ := time.Parse(time.RFC3339, sc.Start)
	vc := clock.NewVirtual(start, speed)
	sim, err := entrasim.New(entrasim.Options{Scenario: sc, Clock: vc})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	block, _ := pem.Decode(sim.CACertPEM())
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	opts := transport.Options{ExtraRoots: []*x509.Certificate{ca}}
	if m == modeB {
		opts.DialContext = transport.RedirectDialer(sim.Addr())
	}
	tr, err := transport.NewTransport(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{t: t, sim: sim, clock: vc, mode: m, hc: NewHTTPClient(tr), msal: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (e *env) graphURL() string {
	if e.mode == modeA {
		return e.sim.BaseURL()
	}
	return DefaultGraphURL
}

func (e *env) authority() string {
	if e.mode == modeA {
		return e.sim.BaseURL() + "/" + fxTenant
	}
	return "https://login.microsoftonline.com/" + fxTenant
}

// msalSource is the probe's shape of token source: a real MSAL public
// client, enrolled by device code (the fixture auto-approves), redeeming
// silently and passing CAE claims on.
type msalSource struct {
	app  public.Client
	acct public.Account

	mu     sync.Mutex
	calls  int
	claims []string
}

func (e *env) enroll(appID string) *msalSource {
	e.t.Helper()
	app, err := public.New(appID, public.WithAuthority(e.authority()), public.WithHTTPClient(e.msal),
		public.WithInstanceDiscovery(e.mode == modeB))
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dc, err := app.AcquireTokenByDeviceCode(ctx, []string{DefaultScope})
	if err != nil {
		e.t.Fatalf("device code: %v", err)
	}
	ar, err := dc.AuthenticationResult(ctx)
	if err != nil {
		e.t.Fatalf("device code result: %v", err)
	}
	return &msalSource{app: app, acct: ar.Account}
}

func (m *msalSource) Token(ctx context.Context, scopes []string, claims string) (string, time.Time, error) {
	m.mu.Lock()
	m.calls++
	if claims != "" {
		m.claims = append(m.claims, claims)
	}
	m.mu.Unlock()
	opts := []public.AcquireSilentOption{public.WithSilentAccount(m.acct)}
	if claims != "" {
		opts = append(opts, public.WithClaims(claims))
	}
	ar, err := m.app.AcquireTokenSilent(ctx, scopes, opts...)
	if err != nil {
		return "", time.Time{}, err
	}
	return ar.AccessToken, ar.ExpiresOn, nil
}

func (m *msalSource) seenClaims() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.claims...)
}

// reader builds the product's Reader for the fixture tenant.
func (e *env) reader(src TokenSource, limits Limits) *Reader {
	e.t.Helper()
	r, err := NewReader(Config{TenantID: fxTenant, Tokens: src, HTTPClient: e.hc, GraphURL: e.graphURL(), Clock: e.clock, Limits: limits})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func asError(t testing.TB, err error) *Error {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %T %v, want *graph.Error", err, err)
	}
	return e
}

func hasAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
