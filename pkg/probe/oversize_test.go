package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/transport"
)

// A token endpoint that answers with an endless body (a broken proxy, a
// captive portal streaming, an attacker on the path) costs the probe at
// most the transport's response cap, and the probe reports a transient
// failure with a clear message: never a definitive "token broken", which
// would page someone for nothing.
func TestEndlessTokenResponseIsBoundedAndTransient(t *testing.T) {
	env := newSimEnv(t, true)
	tg := env.target(simTenant, simUser)
	env.enrollDeviceCode(tg)

	// A front for the production host names: everything goes to the
	// simulator except the token endpoint, which streams forever.
	authority, err := url.Parse(DefaultAuthorityHost)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(authority)
	proxy.Transport = env.sim.RedirectTransport()
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token_type":"Bearer","access_token":"`))
		chunk := []byte(strings.Repeat("A", 64<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	cert, leaf := selfSignedFor(t, entrasim.ProductionHosts)
	front.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	front.StartTLS()
	defer front.Close()

	hc, err := transport.New(transport.Options{ExtraRoots: []*x509.Certificate{leaf},
		DialContext: transport.RedirectDialer(front.Listener.Addr().String()), MaxResponseBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProber(ProberOptions{Store: env.db, HTTP: hc, Clock: env.clock, Timeout: 30 * time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := p.Probe(ctx, tg)
	if res.Outcome != OutcomeTransient {
		t.Fatalf("outcome %s (%s), want transient", res.Outcome, res.Message)
	}
	const want = "The answer was larger than the agent accepts (the 1 MiB limit): a proxy or endpoint on the path is misbehaving; this says nothing about the token."
	if res.Message != want {
		t.Fatalf("message %q does not say the answer was too large", res.Message)
	}
	if ctx.Err() != nil {
		t.Fatal("the probe ran until the deadline instead of stopping at the cap")
	}
}

// selfSignedFor is a self-signed server certificate for hosts, trusted by
// adding the returned certificate to the client's roots.
func selfSignedFor(t testing.TB, hosts []string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, leaf
}
