package entrasim

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"
)

// TestFaultInjection sets each fault through the admin API and observes it
// on the token endpoint class, while the admin API itself stays reachable.
func TestFaultInjection(t *testing.T) {
	s := startSim(t, testScenario(t, "", ""))
	oidc := s.BaseURL() + "/" + testTenant + "/v2.0/.well-known/openid-configuration"
	h2 := &http.Client{Transport: s.ClientTransport(), Timeout: 5 * time.Second}
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool()}, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	zero := 0
	cases := []struct {
		name       string
		spec       map[string]any
		client     *http.Client
		status     int    // 0: want a transport error
		retryAfter string // "-" means the header must be absent
		minLatency time.Duration
	}{
		{name: "throttle with Retry-After", spec: map[string]any{"class": "token", "throttleRate": 1, "retryAfterSeconds": zero}, client: h2, status: 429, retryAfter: "0"},
		{name: "throttle without Retry-After", spec: map[string]any{"class": "token", "throttleRate": 1}, client: h2, status: 429, retryAfter: "-"},
		{name: "5xx", spec: map[string]any{"class": "all", "errorRate": 1, "errorStatus": 502}, client: h2, status: 502},
		{name: "latency", spec: map[string]any{"class": "token", "latencyMs": 150, "jitterMs": 20}, client: h2, status: 200, minLatency: 150 * time.Millisecond},
		{name: "timeout", spec: map[string]any{"class": "token", "timeoutRate": 1}, client: &http.Client{Transport: s.ClientTransport(), Timeout: 300 * time.Millisecond}},
		{name: "reset HTTP/1.1", spec: map[string]any{"class": "token", "resetRate": 1}, client: h1},
		{name: "reset HTTP/2", spec: map[string]any{"class": "token", "resetRate": 1}, client: h2},
		{name: "graph faults leave tokens alone", spec: map[string]any{"class": "graph", "errorRate": 1}, client: h2, status: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if st, out := adminPost(t, s, "/_sim/faults", tc.spec); st != 200 {
				t.Fatalf("set faults: %d %v", st, out)
			}
			defer func() {
				req, _ := http.NewRequest(http.MethodDelete, s.BaseURL()+"/_sim/faults", nil)
				if resp, err := h2.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			start := time.Now()
			resp, err := tc.client.Get(oidc)
			if tc.status == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("want a transport error, got %d", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if ra, ok := resp.Header["Retry-After"]; tc.retryAfter == "-" && ok || tc.retryAfter != "" && tc.retryAfter != "-" && (len(ra) != 1 || ra[0] != tc.retryAfter) {
				t.Errorf("Retry-After = %v, want %q", ra, tc.retryAfter)
			}
			if time.Since(start) < tc.minLatency {
				t.Errorf("answered in %v, want at least %v", time.Since(start), tc.minLatency)
			}
			if st, _ := adminPost(t, s, "/_sim/clock/advance", map[string]any{"by": "0s"}); st != 200 {
				t.Errorf("admin API faulted: %d", st)
			}
		})
	}
}

// TestOutageWindow: a whole-endpoint outage lasts for its virtual window,
// and MSAL sees it as a CallErr with status 503.
func TestOutageWindow(t *testing.T) {
	s := startSim(t, testScenario(t, "", ""))
	c := newCanary(t, s, modeA, testTenant)
	c.enroll(t)
	if st, out := adminPost(t, s, "/_sim/faults", map[string]any{"class": "token", "outageFor": "2h"}); st != 200 {
		t.Fatalf("%d %v", st, out)
	}
	_, err := c.refresh(context.Background())
	if status, b := callErrBody(t, err); status != 503 || b.Codes[0] != 90033 {
		t.Fatalf("during outage: %d %v", status, b.Codes)
	}
	s.Advance(2*time.Hour + time.Second)
	if _, err := c.refresh(context.Background()); err != nil {
		t.Fatalf("after the outage window: %v", err)
	}
}

func TestFaultRequestValidation(t *testing.T) {
	s := startSim(t, testScenario(t, "", ""))
	for _, bad := range []map[string]any{
		{"class": "dns"}, {"class": "token", "errorRate": 1.5}, {"class": "token", "latencyMs": -1},
		{"class": "token", "outageFor": "soon"}, {"class": "token", "retryAfterSeconds": -3}, {"class": "token", "bogus": 1},
	} {
		if st, out := adminPost(t, s, "/_sim/faults", bad); st != 400 || out["error"] == "" {
			t.Errorf("%v accepted: %d %v", bad, st, out)
		}
	}
}
