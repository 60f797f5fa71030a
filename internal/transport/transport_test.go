package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// countingServer is an HTTP/2 TLS server that counts accepted connections
// and TLS handshakes (one ClientHello each).
type countingServer struct {
	*httptest.Server
	conns      atomic.Int64
	handshakes atomic.Int64
}

func newCountingServer(t *testing.T) *countingServer {
	t.Helper()
	cs := &countingServer{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
		io.WriteString(w, "ok")
	}))
	srv.EnableHTTP2 = true
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			cs.conns.Add(1)
		}
	}
	srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		cs.handshakes.Add(1)
		return nil, nil
	}}
	srv.StartTLS()
	cs.Server = srv
	t.Cleanup(srv.Close)
	return cs
}

// get fetches url and returns the protocol the server saw.
func get(ctx context.Context, hc *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return "", err
	}
	return resp.Header.Get("X-Proto"), nil
}

// TestOneHandshakeAcrossManyRequests is the "never a TLS handshake per
// probe" guarantee: 100 requests, 16 at a time, reach the server over one
// HTTP/2 connection.
func TestOneHandshakeAcrossManyRequests(t *testing.T) {
	srv := newCountingServer(t)
	hc, err := New(Options{ExtraRoots: []*x509.Certificate{srv.Certificate()}, MaxConcurrency: 16})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Warm the pool first: concurrent first requests may race to dial
	// before the HTTP/2 connection exists.
	if proto, err := get(ctx, hc, srv.URL); err != nil || proto != "HTTP/2.0" {
		t.Fatalf("first request: proto %q err %v; want HTTP/2.0", proto, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	sem := make(chan struct{}, 16)
	for range 100 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if proto, err := get(ctx, hc, srv.URL); err != nil {
				errs <- err
			} else if proto != "HTTP/2.0" {
				errs <- &protoError{proto}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("connections = %d, want 1", n)
	}
	if n := srv.handshakes.Load(); n != 1 {
		t.Errorf("TLS handshakes = %d, want 1", n)
	}
}

type protoError struct{ proto string }

func (e *protoError) Error() string { return "request used " + e.proto + ", want HTTP/2.0" }

// TestRedirectDialerKeepsHostName: a production host name reaches the local
// server while TLS verifies the certificate against that name.
func TestRedirectDialerKeepsHostName(t *testing.T) {
	srv := newCountingServer(t)
	addr := srv.Listener.Addr().String()
	hc, err := New(Options{ExtraRoots: []*x509.Certificate{srv.Certificate()}, DialContext: RedirectDialer(addr)})
	if err != nil {
		t.Fatal(err)
	}
	// httptest's certificate names example.com.
	if _, err := get(context.Background(), hc, "https://example.com/x"); err != nil {
		t.Fatalf("redirected request: %v", err)
	}
	// A name the certificate does not carry must still fail verification.
	_, err = get(context.Background(), hc, "https://login.microsoftonline.com/x")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("want a certificate error for a name outside the certificate, got %v", err)
	}
}

func TestCABundleFile(t *testing.T) {
	srv := newCountingServer(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(good, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	hc, err := New(Options{CABundleFile: good})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(context.Background(), hc, srv.URL); err != nil {
		t.Fatalf("server signed by the bundle's CA: %v", err)
	}

	// Without the bundle the same server is untrusted.
	plain, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(context.Background(), plain, srv.URL); err == nil {
		t.Fatal("server trusted without the CA bundle")
	}
}

func TestOptionErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"missing bundle", Options{CABundleFile: filepath.Join(dir, "nope.pem")}, "ca_bundle_file: open " + filepath.Join(dir, "nope.pem")},
		{"bundle without PEM", Options{CABundleFile: notPEM}, "ca_bundle_file " + notPEM + ": no PEM certificate found"},
		{"proxy scheme", Options{ProxyURL: "socks5://p:1080"}, `proxy_url "socks5://p:1080": scheme must be http or https`},
		{"proxy host", Options{ProxyURL: "http://"}, `proxy_url "http://": missing host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestExplicitProxyIsUsed(t *testing.T) {
	tr, err := NewTransport(Options{ProxyURL: "http://proxy.internal:3128"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://login.microsoftonline.com/", nil)
	u, err := tr.Proxy(req)
	if err != nil || u == nil || u.Host != "proxy.internal:3128" {
		t.Fatalf("proxy = %v, %v; want proxy.internal:3128", u, err)
	}
	if tr.TLSClientConfig.MinVersion != tls.VersionTLS12 || !tr.ForceAttemptHTTP2 {
		t.Fatalf("transport must require TLS 1.2+ and attempt HTTP/2")
	}
}
