package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testTenant = "3c3c3c3c-0000-4000-8000-000000000001"
	loginHost  = "login.microsoftonline.com"
)

func openIDURL(tenant string) string {
	return "https://" + loginHost + "/" + tenant + "/v2.0/.well-known/openid-configuration?"
}

func instanceURL(tenant string) string {
	q := url.Values{"api-version": {"1.1"},
		"authorization_endpoint": {"https://" + loginHost + "/" + tenant + "/oauth2/v2.0/authorize"}}
	return "https://" + loginHost + "/common/discovery/instance?" + q.Encode()
}

// openIDDocument is shaped like Entra ID's: the tenant id appears in most
// endpoints.
func openIDDocument(tenant, region string) string {
	base := "https://" + loginHost + "/" + tenant
	return fmt.Sprintf(`{"token_endpoint":"%[1]s/oauth2/v2.0/token","token_endpoint_auth_methods_supported":["client_secret_post","private_key_jwt","client_secret_basic"],"jwks_uri":"%[1]s/discovery/v2.0/keys","response_modes_supported":["query","fragment","form_post"],"subject_types_supported":["pairwise"],"id_token_signing_alg_values_supported":["RS256"],"response_types_supported":["code","id_token","code id_token","id_token token"],"scopes_supported":["openid","profile","email","offline_access"],"issuer":"%[1]s/v2.0","request_uri_parameter_supported":false,"userinfo_endpoint":"https://graph.microsoft.com/oidc/userinfo","authorization_endpoint":"%[1]s/oauth2/v2.0/authorize","device_authorization_endpoint":"%[1]s/oauth2/v2.0/devicecode","http_logout_supported":true,"frontchannel_logout_supported":true,"end_session_endpoint":"%[1]s/oauth2/v2.0/logout","claims_supported":["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name","msgraph_host","aud","exp","iat","auth_time","acr","nonce","preferred_username","name","tid","ver","at_hash","c_hash","email"],"kerberos_endpoint":"%[1]s/kerberos","tenant_region_scope":"%[2]s","cloud_instance_name":"microsoftonline.com","cloud_graph_host_name":"graph.windows.net","msgraph_host":"graph.microsoft.com","rbac_url":"https://pas.windows.net"}`+"\n", base, region)
}

func instanceDocument(tenant string) string {
	return `{"tenant_discovery_endpoint":"https://` + loginHost + `/` + tenant + `/v2.0/.well-known/openid-configuration","api-version":"1.1","metadata":[{"preferred_network":"login.microsoftonline.com","preferred_cache":"login.windows.net","aliases":["login.microsoftonline.com","login.windows.net","login.microsoft.com","sts.windows.net"]},{"preferred_network":"login.partner.microsoftonline.cn","preferred_cache":"login.partner.microsoftonline.cn","aliases":["login.partner.microsoftonline.cn","login.chinacloudapi.cn"]},{"preferred_network":"login.microsoftonline.us","preferred_cache":"login.microsoftonline.us","aliases":["login.microsoftonline.us","login.usgovcloudapi.net"]}]}` + "\n"
}

// upstream answers from a function and counts the requests it saw.
type upstream struct {
	calls  atomic.Int64
	answer func(req *http.Request) (*http.Response, error)
}

func (u *upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	u.calls.Add(1)
	return u.answer(req)
}

func reply(status int, body string, header ...string) *http.Response {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Date": {"Fri, 27 Nov 2026 12:00:00 GMT"}}
	for i := 0; i+1 < len(header); i += 2 {
		h.Add(header[i], header[i+1])
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

// documents serves both discovery documents for any tenant.
func documents(req *http.Request) (*http.Response, error) {
	if req.URL.Path == "/common/discovery/instance" {
		ae, _ := url.Parse(req.URL.Query().Get("authorization_endpoint"))
		return reply(200, instanceDocument(strings.Split(ae.Path, "/")[1])), nil
	}
	return reply(200, openIDDocument(strings.Split(req.URL.Path, "/")[1], "EU")), nil
}

// fakeClock is the agent's clock, moved by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func fetch(t testing.TB, rt http.RoundTripper, method, rawURL string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// Only the two discovery GETs, unauthenticated and with their exact shape,
// are candidates; each row is asked twice and must reach upstream once
// when cached, twice when not.
func TestDiscoveryCacheTakesOnlyTheDiscoveryShapes(t *testing.T) {
	tests := []struct {
		name   string
		method string
		url    string
		header []string
		cached bool
	}{
		{"openid configuration as MSAL asks", "GET", openIDURL(testTenant), nil, true},
		{"openid configuration without the empty query", "GET", strings.TrimSuffix(openIDURL(testTenant), "?"), nil, true},
		{"openid configuration by domain name", "GET", openIDURL("contoso.onmicrosoft.com"), nil, true},
		{"instance discovery", "GET", instanceURL(testTenant), nil, true},
		{"openid configuration with a query", "GET", openIDURL(testTenant) + "appid=x", nil, false},
		{"openid configuration under two segments", "GET", "https://" + loginHost + "/a/b/v2.0/.well-known/openid-configuration", nil, false},
		{"v1 openid configuration", "GET", "https://" + loginHost + "/" + testTenant + "/.well-known/openid-configuration", nil, false},
		{"openid configuration over http", "GET", strings.Replace(openIDURL(testTenant), "https:", "http:", 1), nil, false},
		{"openid configuration with credentials", "GET", openIDURL(testTenant), []string{"Authorization", "Bearer x"}, false},
		{"openid configuration with a cookie", "GET", openIDURL(testTenant), []string{"Cookie", "a=b"}, false},
		{"openid configuration by HEAD", "HEAD", openIDURL(testTenant), nil, false},
		{"instance discovery with an extra parameter", "GET", instanceURL(testTenant) + "&x=1", nil, false},
		{"instance discovery without authorization endpoint", "GET", "https://" + loginHost + "/common/discovery/instance?api-version=1.1", nil, false},
		{"instance discovery for another endpoint", "GET", strings.Replace(instanceURL(testTenant), "authorize", "token", 1), nil, false},
		{"token endpoint", "POST", "https://" + loginHost + "/" + testTenant + "/oauth2/v2.0/token", nil, false},
		{"keys", "GET", "https://" + loginHost + "/" + testTenant + "/discovery/v2.0/keys", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := &upstream{answer: func(*http.Request) (*http.Response, error) { return reply(200, "{}"), nil }}
			c := CacheDiscovery(up, DiscoveryOptions{})
			fetch(t, c, tt.method, tt.url, tt.header...)
			fetch(t, c, tt.method, tt.url, tt.header...)
			want := int64(2)
			if tt.cached {
				want = 1
			}
			if got := up.calls.Load(); got != want {
				t.Errorf("upstream saw %d requests, want %d", got, want)
			}
		})
	}
}

// A hit is a new response each time with the exact body and content type;
// what one caller does to its response does not reach the next.
func TestDiscoveryCacheHitIsAFreshExactResponse(t *testing.T) {
	up := &upstream{answer: documents}
	c := CacheDiscovery(up, DiscoveryOptions{})
	_, first := fetch(t, c, "GET", openIDURL(testTenant))
	r1, hit1 := fetch(t, c, "GET", openIDURL(testTenant))
	r1.Header.Set("Content-Type", "text/plain")
	r2, hit2 := fetch(t, c, "GET", openIDURL(testTenant))
	if up.calls.Load() != 1 {
		t.Fatalf("upstream saw %d requests, want 1", up.calls.Load())
	}
	want := openIDDocument(testTenant, "EU")
	for i, body := range []string{first, hit1, hit2} {
		if body != want {
			t.Fatalf("body %d differs from the document:\n%s\nwant\n%s", i, body, want)
		}
	}
	if r1 == r2 {
		t.Fatal("two hits returned the same *http.Response")
	}
	if r2.StatusCode != 200 || r2.ContentLength != int64(len(want)) || r2.Request == nil ||
		!reflect.DeepEqual(r2.Header, http.Header{"Content-Type": {"application/json; charset=utf-8"}}) {
		t.Fatalf("hit: status %d, length %d, header %v", r2.StatusCode, r2.ContentLength, r2.Header)
	}
}

// A failed, non-200, no-store, no-cache, max-age=0 or oversized answer
// reaches the caller unchanged and is never kept.
func TestDiscoveryCacheNeverKeepsWhatItMustNot(t *testing.T) {
	big := `{"x":"` + strings.Repeat("a", maxCachedDiscoveryBody) + `"}`
	tests := []struct {
		name    string
		resp    func() *http.Response
		err     error
		wantErr bool
	}{
		{"404", func() *http.Response { return reply(404, `{"error":"invalid_instance"}`) }, nil, false},
		{"500", func() *http.Response { return reply(500, `{"error":"server_error"}`) }, nil, false},
		{"304", func() *http.Response { return reply(304, "") }, nil, false},
		{"no-store", func() *http.Response { return reply(200, "{}", "Cache-Control", "private, no-store") }, nil, false},
		{"no-cache", func() *http.Response { return reply(200, "{}", "Cache-Control", "no-cache") }, nil, false},
		{"max-age=0", func() *http.Response { return reply(200, "{}", "Cache-Control", "max-age=0") }, nil, false},
		{"bad max-age", func() *http.Response { return reply(200, "{}", "Cache-Control", "max-age=soon") }, nil, false},
		{"still gzip-encoded", func() *http.Response { return reply(200, "\x1f\x8b", "Content-Encoding", "gzip") }, nil, false},
		{"oversized, length known", func() *http.Response { return reply(200, big) }, nil, false},
		{"oversized, length unknown", func() *http.Response { r := reply(200, big); r.ContentLength = -1; return r }, nil, false},
		{"transport error", nil, errors.New("connection reset"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want string
			up := &upstream{answer: func(*http.Request) (*http.Response, error) {
				if tt.err != nil {
					return nil, tt.err
				}
				r := tt.resp()
				b, _ := io.ReadAll(r.Body)
				want = string(b)
				r.Body = io.NopCloser(strings.NewReader(want))
				return r, nil
			}}
			c := CacheDiscovery(up, DiscoveryOptions{})
			for range 2 {
				req, _ := http.NewRequest("GET", openIDURL(testTenant), nil)
				resp, err := c.RoundTrip(req)
				if tt.wantErr {
					if err == nil || !strings.Contains(err.Error(), "connection reset") {
						t.Fatalf("err %v, want the transport's", err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != want {
					t.Fatalf("body of %d bytes, want the %d upstream sent", len(body), len(want))
				}
			}
			if up.calls.Load() != 2 || c.Len() != 0 {
				t.Fatalf("upstream saw %d requests and %d documents are kept, want 2 and 0", up.calls.Load(), c.Len())
			}
		})
	}
}

// A document is served until its lifetime ends on the agent's clock: the
// TTL, or a shorter max-age; never a longer one.
func TestDiscoveryCacheLifetime(t *testing.T) {
	tests := []struct {
		cacheControl string
		want         time.Duration
	}{
		{"", DefaultDiscoveryTTL},
		{"max-age=86400, private", DefaultDiscoveryTTL},
		{"private, max-age=3600", time.Hour},
		{`max-age="60"`, time.Minute},
		{"max-age=999999999999999", DefaultDiscoveryTTL},
	}
	for _, tt := range tests {
		t.Run(tt.cacheControl, func(t *testing.T) {
			clk := &fakeClock{now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
			up := &upstream{answer: func(*http.Request) (*http.Response, error) {
				if tt.cacheControl == "" {
					return reply(200, "{}"), nil
				}
				return reply(200, "{}", "Cache-Control", tt.cacheControl), nil
			}}
			c := CacheDiscovery(up, DiscoveryOptions{Now: clk.Now})
			fetch(t, c, "GET", openIDURL(testTenant))
			clk.advance(tt.want - time.Second)
			fetch(t, c, "GET", openIDURL(testTenant))
			if got := up.calls.Load(); got != 1 {
				t.Fatalf("a second before the end: upstream saw %d requests, want 1", got)
			}
			clk.advance(time.Second)
			fetch(t, c, "GET", openIDURL(testTenant))
			if got := up.calls.Load(); got != 2 {
				t.Fatalf("at the end: upstream saw %d requests, want 2", got)
			}
		})
	}
}

// A clock set back by more than the TTL leaves an entry of unknown age: it
// is read again rather than kept for up to a day more.
func TestDiscoveryCacheClockSetBack(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	up := &upstream{answer: documents}
	c := CacheDiscovery(up, DiscoveryOptions{Now: clk.Now})
	fetch(t, c, "GET", openIDURL(testTenant))
	clk.advance(-time.Hour)
	fetch(t, c, "GET", openIDURL(testTenant))
	if got := up.calls.Load(); got != 1 {
		t.Fatalf("an hour back: upstream saw %d requests, want 1", got)
	}
	clk.advance(-DefaultDiscoveryTTL)
	fetch(t, c, "GET", openIDURL(testTenant))
	if got := up.calls.Load(); got != 2 {
		t.Fatalf("a day and an hour back: upstream saw %d requests, want 2", got)
	}
}

// The cache holds at most MaxEntries documents, least recently used out
// first, and tenants whose documents differ only by the tenant share one
// stored body, released with its last entry.
func TestDiscoveryCacheIsBoundedAndShares(t *testing.T) {
	up := &upstream{answer: documents}
	c := CacheDiscovery(up, DiscoveryOptions{MaxEntries: 4})
	tenant := func(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000000", i) }
	for i := range 3 {
		fetch(t, c, "GET", openIDURL(tenant(i)))
		fetch(t, c, "GET", instanceURL(tenant(i)))
	}
	c.mu.Lock()
	entries, templates := c.order.Len(), len(c.templates)
	c.mu.Unlock()
	if entries != 4 || templates != 2 {
		t.Fatalf("%d entries and %d stored bodies, want 4 and 2", entries, templates)
	}
	// Tenant 0 went first; tenant 2's documents are still served from memory.
	before := up.calls.Load()
	fetch(t, c, "GET", openIDURL(tenant(2)))
	fetch(t, c, "GET", instanceURL(tenant(2)))
	if up.calls.Load() != before {
		t.Fatal("a recent document was evicted")
	}
	_, body := fetch(t, c, "GET", openIDURL(tenant(0)))
	if up.calls.Load() != before+1 || body != openIDDocument(tenant(0), "EU") {
		t.Fatal("the oldest document was not evicted and fetched again")
	}
	// Documents that differ by more than their tenant (here each names its
	// own region) are stored apart; evicting the old entries frees theirs.
	var region atomic.Int64
	up.answer = func(req *http.Request) (*http.Response, error) {
		return reply(200, openIDDocument(strings.Split(req.URL.Path, "/")[1], fmt.Sprint("R", region.Add(1)))), nil
	}
	for i := 10; i < 14; i++ {
		fetch(t, c, "GET", openIDURL(tenant(i)))
	}
	c.mu.Lock()
	entries, templates = c.order.Len(), len(c.templates)
	c.mu.Unlock()
	if entries != 4 || templates != 4 {
		t.Fatalf("%d entries and %d stored bodies, want 4 and 4", entries, templates)
	}
}

// Splitting on the tenant and joining back gives the exact bytes whatever
// the body holds: the tenant at either end, repeated, adjacent, digits and
// colons that look like the template encoding.
func TestBodyTemplateRoundTrip(t *testing.T) {
	const tn = "t1"
	bodies := []string{"", tn, tn + tn, "a" + tn + "b" + tn, tn + "12:34" + tn, "0:" + tn + ":0", "no tenant here", "t", "1t1t11"}
	for _, body := range bodies {
		parts := strings.Split(body, tn)
		tpl := newTemplate(templateKey(parts), len(parts))
		if got := strings.Join(tpl.parts, tn); got != body {
			t.Errorf("body %q came back as %q", body, got)
		}
	}
	if templateKey([]string{"a:", "b"}) == templateKey([]string{"a", ":b"}) {
		t.Error("two part lists share a key")
	}
}

// Many goroutines over more tenants than the cache holds: every answer is
// the tenant's exact document (run with -race).
func TestDiscoveryCacheConcurrent(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	c := CacheDiscovery(&upstream{answer: documents}, DiscoveryOptions{MaxEntries: 16, TTL: time.Hour, Now: clk.Now})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				tn := fmt.Sprintf("%08x-0000-4000-8000-000000000000", (g*7+i)%40)
				if i%50 == 0 {
					clk.advance(10 * time.Minute)
				}
				req, _ := http.NewRequest("GET", openIDURL(tn), nil)
				resp, err := c.RoundTrip(req)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				if string(b) != openIDDocument(tn, "EU") {
					errs <- fmt.Errorf("tenant %s got another body", tn)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if c.Len() > 16 {
		t.Fatalf("%d documents kept, bound is 16", c.Len())
	}
}

// A cancelled request gets the context's error, even for a kept document.
func TestDiscoveryCacheHonoursCancellation(t *testing.T) {
	c := CacheDiscovery(&upstream{answer: documents}, DiscoveryOptions{})
	fetch(t, c, "GET", openIDURL(testTenant))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", openIDURL(testTenant), nil)
	if resp, err := c.RoundTrip(req); !errors.Is(err, context.Canceled) || resp != nil {
		t.Fatalf("got response %v, error %v; want context.Canceled", resp, err)
	}
}
