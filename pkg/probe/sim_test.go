package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/internal/transport"
)

// Identifiers of the test scenario.
const (
	simTenant       = "3c3c3c3c-0000-4000-8000-000000000001"
	simTenantNoAuth = "3c3c3c3c-0000-4000-8000-000000000002" // id_tokens without auth_time
	simUser         = "svc-sync@canary.onmicrosoft.com"
	simUserNoAuth   = "svc-sync@plain.onmicrosoft.com"
	simPublicApp    = "7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b"
	simConfApp      = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
	simSecret       = "conf-app-secret-value"
)

var simStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

const simScenario = `
start: "2026-01-05T09:00:00Z"
tenants:
  - id: 3c3c3c3c-0000-4000-8000-000000000001
    domain: canary.onmicrosoft.com
    displayName: Canary
    options: &opts
      autoApproveDeviceCode: true
      interactiveUser: svc-sync@canary.onmicrosoft.com
      includeAuthTime: true
      countries: {"127.0.0.0/8": "US"}
    users:
      - id: 3c3c3c3c-0000-4000-8000-0000000000a1
        upn: svc-sync@canary.onmicrosoft.com
        passwordLastChanged: -10d
        mfaMethods: [microsoftAuthenticator]
      - id: 3c3c3c3c-0000-4000-8000-0000000000a2
        upn: someone-else@canary.onmicrosoft.com
    apps: &apps
      - appId: 7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b
        displayName: tokenhealth canary
        public: true
        consentedScopes: [Policy.Read.All, AuditLog.Read.All, Directory.Read.All, User.Read]
      - appId: 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a
        displayName: platform (confidential)
        secrets: [conf-app-secret-value]
        consentedScopes: [Policy.Read.All, User.Read]
  - id: 3c3c3c3c-0000-4000-8000-000000000002
    domain: plain.onmicrosoft.com
    displayName: Plain
    options:
      <<: *opts
      interactiveUser: svc-sync@plain.onmicrosoft.com
      includeAuthTime: false
    users:
      - id: 3c3c3c3c-0000-4000-8000-0000000000b1
        upn: svc-sync@plain.onmicrosoft.com
        mfaMethods: [microsoftAuthenticator]
    apps: *apps
`

// simEnv is one simulator, one state file and the shared HTTP client.
type simEnv struct {
	t      testing.TB
	clock  *clock.Virtual
	sim    *entrasim.Server
	db     *store.DB
	http   *http.Client
	host   string // authority host the targets use
	prober *Prober
}

// newSimEnv starts the simulator. prodHosts selects mode B: production host
// names with a redirecting dialer; otherwise mode A: https://127.0.0.1:PORT.
func newSimEnv(t testing.TB, prodHosts bool) *simEnv {
	t.Helper()
	sc, err := entrasim.ParseScenario([]byte(simScenario))
	if err != nil {
		t.Fatal(err)
	}
	v := clock.NewVirtual(simStart, 0)
	sim, err := entrasim.New(entrasim.Options{Scenario: sc, Clock: v})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	dir := t.TempDir()
	caFile := filepath.Join(dir, "sim-ca.pem")
	if err := sim.WriteCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	topts := transport.Options{CABundleFile: caFile, MaxConcurrency: 8}
	host := sim.BaseURL()
	if prodHosts {
		topts.DialContext = transport.RedirectDialer(sim.Addr())
		host = DefaultAuthorityHost
	}
	hc, err := transport.New(topts)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "state.db"), store.Options{Key: bytes.Repeat([]byte{7}, 32), Clock: v,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	env := &simEnv{t: t, clock: v, sim: sim, db: db, http: hc, host: host}
	env.prober, err = NewProber(ProberOptions{Store: db, HTTP: hc, Clock: v, Timeout: 5 * time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func (env *simEnv) target(tenant, user string) Target {
	return Target{TenantID: tenant, Name: "test", ServiceAccount: user, ClientAppID: simPublicApp,
		ClientType: ClientPublic, AuthorityHost: env.host}
}

func (env *simEnv) enroller() *Enroller {
	return &Enroller{Store: env.db, HTTP: env.http, Clock: env.clock}
}

// enrollDeviceCode enrolls the canary tenant's service account.
func (env *simEnv) enrollDeviceCode(tg Target) Enrollment {
	env.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	rec, err := env.enroller().DeviceCode(ctx, tg, &out)
	if err != nil {
		env.t.Fatalf("device code enrollment: %v (output %q)", err, out.String())
	}
	return rec
}

// nonInteractiveSignIns counts the refresh-token redemptions the tenant
// logged for the user.
func (env *simEnv) nonInteractiveSignIns(tenant, upn string) int {
	n := 0
	env.sim.Tenant(tenant).SignIns(func(s *entrasim.SignIn) bool {
		if s.UserPrincipalName == upn && !s.IsInteractive && s.Status.ErrorCode == 0 {
			n++
		}
		return false
	})
	return n
}

// refreshTokenFingerprint returns the cached refresh token's secret for
// comparison only (never printed).
func (env *simEnv) refreshTokenSecret(tenant string) string {
	env.t.Helper()
	blob, err := env.db.LoadTokenCache(tenant)
	if err != nil {
		env.t.Fatal(err)
	}
	var c struct {
		RefreshToken map[string]struct {
			Secret string `json:"secret"`
		}
	}
	if err := json.Unmarshal(blob, &c); err != nil {
		env.t.Fatal(err)
	}
	for _, rt := range c.RefreshToken {
		return rt.Secret
	}
	return ""
}
