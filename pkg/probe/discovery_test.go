package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/transport"
)

// requestCount is what the identity host saw for one tenant.
type requestCount struct {
	instance, openid, token int
	tokenAtEpoch2           int // token POSTs to the endpoint of the changed document
}

// countingFront serves the simulator's handler under the production host
// names and counts the authority requests per tenant. When epoch2 is set
// for a tenant, its OpenID configuration names a token endpoint marked
// ?epoch=2, so a token POST there proves MSAL used the re-read document.
type countingFront struct {
	sim *entrasim.Server
	srv *httptest.Server

	mu     sync.Mutex
	counts map[string]*requestCount // by tenant path segment
	epoch2 map[string]bool
	other  []string // requests of no counted shape
}

func newCountingFront(t testing.TB, sim *entrasim.Server) *countingFront {
	f := &countingFront{sim: sim, counts: map[string]*requestCount{}, epoch2: map[string]bool{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	cert, _ := selfSignedFor(t, entrasim.ProductionHosts)
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *countingFront) serve(w http.ResponseWriter, r *http.Request) {
	tenant, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	f.mu.Lock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/common/discovery/instance":
		ae, _ := url.Parse(r.URL.Query().Get("authorization_endpoint"))
		tenant, _, _ = strings.Cut(strings.TrimPrefix(ae.Path, "/"), "/")
		f.count(tenant).instance++
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		f.count(tenant).openid++
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		f.count(tenant).token++
		if r.URL.Query().Get("epoch") == "2" {
			f.count(tenant).tokenAtEpoch2++
		}
	default:
		f.other = append(f.other, r.Method+" "+r.URL.Path)
	}
	changed := f.epoch2[tenant] && strings.HasSuffix(r.URL.Path, "/openid-configuration")
	f.mu.Unlock()
	if !changed {
		f.sim.Handler().ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	f.sim.Handler().ServeHTTP(rec, r)
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	doc["token_endpoint"] = doc["token_endpoint"].(string) + "?epoch=2"
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(doc)
}

func (f *countingFront) count(tenant string) *requestCount {
	c := f.counts[tenant]
	if c == nil {
		c = &requestCount{}
		f.counts[tenant] = c
	}
	return c
}

func (f *countingFront) snapshot(tenant string) requestCount {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.count(tenant)
}

// frontProber is a Prober keeping one MSAL client, whose HTTP client
// reaches the production host names through the counting front.
func frontProber(t testing.TB, env *simEnv, f *countingFront) *Prober {
	hc, err := transport.New(transport.Options{ExtraRoots: []*x509.Certificate{f.srv.Certificate()},
		DialContext: transport.RedirectDialer(f.srv.Listener.Addr().String())})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProber(ProberOptions{Store: env.db, HTTP: hc, Clock: env.clock, Timeout: 30 * time.Second,
		MaxClients: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// twoEnrolledTenantsBehindFront enrolls two tenants on production host
// names and gives a prober whose identity requests a counting front sees.
func twoEnrolledTenantsBehindFront(t *testing.T) (*simEnv, []Target, *countingFront, *Prober) {
	t.Helper()
	env := newSimEnv(t, true)
	targets := []Target{env.target(simTenant, simUser), env.target(simTenantNoAuth, simUserNoAuth)}
	for _, tg := range targets {
		env.enrollDeviceCode(tg)
	}
	front := newCountingFront(t, env.sim)
	return env, targets, front, frontProber(t, env, front)
}

// With room for one MSAL client and two tenants probed in turn, every
// probe builds a new client; the authority documents still come from the
// network once per tenant, and every probe is one token POST. After the
// cache lifetime a changed OpenID configuration is read again and used.
func TestProbeReadsDiscoveryOncePerTenant(t *testing.T) {
	env, targets, front, p := twoEnrolledTenantsBehindFront(t)

	probe := func(tg Target, want requestCount) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if res := p.Probe(ctx, tg); res.Outcome != OutcomeOK {
			t.Fatalf("tenant %s: outcome %s (%s), want ok", tg.TenantID, res.Outcome, res.Message)
		}
		if got := front.snapshot(tg.TenantID); got != want {
			t.Fatalf("tenant %s: the identity host saw %+v, want %+v", tg.TenantID, got, want)
		}
	}
	const rounds = 4
	for i := 1; i <= rounds; i++ {
		for _, tg := range targets {
			probe(tg, requestCount{instance: 1, openid: 1, token: i})
		}
	}

	// A day and a minute later both documents have expired; the canary
	// tenant's OpenID configuration now names another token endpoint.
	front.mu.Lock()
	front.epoch2[simTenant] = true
	front.mu.Unlock()
	env.clock.Advance(transport.DefaultDiscoveryTTL + time.Minute)
	probe(targets[0], requestCount{instance: 2, openid: 2, token: rounds + 1, tokenAtEpoch2: 1})
	probe(targets[1], requestCount{instance: 2, openid: 2, token: rounds + 1})
	probe(targets[0], requestCount{instance: 2, openid: 2, token: rounds + 2, tokenAtEpoch2: 2})
	probe(targets[1], requestCount{instance: 2, openid: 2, token: rounds + 2})

	front.mu.Lock()
	defer front.mu.Unlock()
	if len(front.other) != 0 {
		t.Errorf("unexpected requests to the identity host: %v", front.other)
	}
}

// Without the cache (the Prober's MSAL client given the bare HTTP client),
// each new client pays both discovery GETs again: the cost the cache
// removes, measured here so the figure cannot silently drift.
func TestProbeWithoutDiscoveryCacheRereadsPerClient(t *testing.T) {
	_, targets, front, p := twoEnrolledTenantsBehindFront(t)
	p.msalHTTP = p.opts.HTTP
	for i := 1; i <= 2; i++ {
		for _, tg := range targets {
			if res := p.Probe(context.Background(), tg); res.Outcome != OutcomeOK {
				t.Fatalf("outcome %s (%s)", res.Outcome, res.Message)
			}
			if got, want := front.snapshot(tg.TenantID), (requestCount{instance: i, openid: i, token: i}); got != want {
				t.Fatalf("tenant %s: saw %+v, want %+v", tg.TenantID, got, want)
			}
		}
	}
}

// BenchmarkProbeRequests reports the requests the identity host sees per
// probe when every probe builds a new MSAL client (one client kept, two
// tenants probed in turn, as a 10,000-tenant fleet with 256 clients is),
// with and without the discovery cache, on production host names.
func BenchmarkProbeRequests(b *testing.B) {
	for _, cached := range []bool{false, true} {
		name := "uncached"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			env := newSimEnv(b, true)
			targets := []Target{env.target(simTenant, simUser), env.target(simTenantNoAuth, simUserNoAuth)}
			for _, tg := range targets {
				env.enrollDeviceCode(tg)
			}
			front := newCountingFront(b, env.sim)
			p := frontProber(b, env, front)
			if !cached {
				p.msalHTTP = p.opts.HTTP
			}
			probes := 0
			for b.Loop() {
				tg := targets[probes%len(targets)]
				if res := p.Probe(context.Background(), tg); res.Outcome != OutcomeOK {
					b.Fatalf("outcome %s (%s)", res.Outcome, res.Message)
				}
				probes++
			}
			total := 0
			for _, tg := range targets {
				c := front.snapshot(tg.TenantID)
				total += c.instance + c.openid + c.token
			}
			b.ReportMetric(float64(total)/float64(probes), "requests/probe")
		})
	}
}
