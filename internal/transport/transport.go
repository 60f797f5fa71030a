// Package transport builds the one HTTP client the agent shares across all
// tenants. Every tenant talks to the same token host and the same Graph host,
// so a single pooled HTTP/2 transport keeps one warm TLS connection per host
// and a probe never pays for a handshake. Tests and the demo redirect the
// production host names to the simulator by overriding DialContext.
package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// DefaultMaxConnsPerHost bounds idle connections kept per host when Options
// does not say. HTTP/2 multiplexes many requests over one connection, so
// this matters only when a proxy or server forces HTTP/1.1.
const DefaultMaxConnsPerHost = 32

// Options configure New. The zero value gives a client that trusts the
// system roots and takes its proxy from the environment.
type Options struct {
	// CABundleFile names a PEM file whose certificates are trusted in
	// addition to the system roots (a TLS-inspecting proxy, the simulator).
	CABundleFile string
	// ExtraRoots are trusted in addition to the system roots and the bundle
	// file; tests pass a generated CA here.
	ExtraRoots []*x509.Certificate
	// ProxyURL is an explicit proxy; when empty the standard environment
	// variables (HTTPS_PROXY, NO_PROXY) apply.
	ProxyURL string
	// MaxConcurrency is the number of requests expected in flight at once
	// (the probe worker count); it sizes the idle pool for HTTP/1.1 fallback.
	MaxConcurrency int
	// DialContext replaces the dialer; used to send production host names to
	// the simulator. TLS still verifies the requested host name.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout caps a whole request; callers normally bound requests with a
	// context deadline instead. Zero means no client-wide cap.
	Timeout time.Duration
	// MaxResponseBytes caps each response body read through New's client
	// (see LimitResponses); zero means DefaultMaxResponseBytes.
	MaxResponseBytes int64
}

// New returns the shared client. Call it once per process and hand the
// result to every MSAL client and the notifiers. Its response bodies are
// capped at opts.MaxResponseBytes.
func New(opts Options) (*http.Client, error) {
	tr, err := NewTransport(opts)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: LimitResponses(tr, opts.MaxResponseBytes), Timeout: opts.Timeout}, nil
}

// NewTransport returns the pooled transport behind New, for callers that wrap
// it in middleware (the Graph SDK).
func NewTransport(opts Options) (*http.Transport, error) {
	roots, err := rootPool(opts.CABundleFile, opts.ExtraRoots)
	if err != nil {
		return nil, err
	}
	proxy, err := proxyFunc(opts.ProxyURL)
	if err != nil {
		return nil, err
	}
	conns := opts.MaxConcurrency
	if conns <= 0 {
		conns = DefaultMaxConnsPerHost
	}
	dial := opts.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return &http.Transport{
		Proxy:       proxy,
		DialContext: dial,
		TLSClientConfig: &tls.Config{
			RootCAs:    roots,
			MinVersion: tls.VersionTLS12,
			// Session tickets let a reconnect after an idle timeout resume
			// instead of paying for a full handshake.
			ClientSessionCache: tls.NewLRUClientSessionCache(64),
		},
		// A custom TLS config or dialer disables HTTP/2 unless forced.
		ForceAttemptHTTP2: true,
		HTTP2: &http.HTTP2Config{
			// Ping a connection that has been silent this long, and drop it
			// if the ping is not answered: a connection silently cut by a
			// NAT or firewall then fails fast instead of stalling a probe
			// until its deadline.
			SendPingTimeout: 45 * time.Second,
			PingTimeout:     15 * time.Second,
		},
		MaxIdleConns:          conns * 4,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       5 * time.Minute,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
	}, nil
}

// rootPool is the system pool plus the bundle file and extra certificates.
func rootPool(bundleFile string, extra []*x509.Certificate) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if bundleFile != "" {
		pem, err := os.ReadFile(bundleFile)
		if err != nil {
			return nil, fmt.Errorf("ca_bundle_file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_bundle_file %s: no PEM certificate found", bundleFile)
		}
	}
	for _, c := range extra {
		pool.AddCert(c)
	}
	return pool, nil
}

// proxyFunc returns the explicit proxy, or the environment's.
func proxyFunc(raw string) (func(*http.Request) (*url.URL, error), error) {
	if raw == "" {
		return http.ProxyFromEnvironment, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("proxy_url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("proxy_url %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("proxy_url %q: missing host", raw)
	}
	return http.ProxyURL(u), nil
}

// RedirectDialer dials addr (host:port) for every remote host asked for. The
// demo and tests use it so the production host names reach the simulator
// while TLS still checks the certificate against the requested name.
// Loopback destinations (a local test receiver, a local Alertmanager) are
// dialled as asked: they are already here.
func RedirectDialer(addr string) func(ctx context.Context, network, target string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, target string) (net.Conn, error) {
		if isLoopback(target) {
			return d.DialContext(ctx, network, target)
		}
		return d.DialContext(ctx, network, addr)
	}
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
