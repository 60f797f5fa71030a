package entrasim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"time"
)

// ProductionHosts are the host names the simulator's certificate covers so
// that clients keeping production URLs (mode B) can be redirected to it.
var ProductionHosts = []string{
	"login.microsoftonline.com", "graph.microsoft.com", "slack.com", "hooks.slack.com",
}

// simPKI is the simulator's private CA and the server certificate it signs.
type simPKI struct {
	caPEM []byte
	pool  *x509.CertPool
	leaf  tls.Certificate
}

// newPKI creates a fresh ECDSA P-256 CA and a leaf for 127.0.0.1, ::1,
// localhost, the production hosts and extraHosts (names or IP literals).
func newPKI(extraHosts []string, now time.Time) (*simPKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	// Certificates use the wall clock, not the virtual one: TLS clients
	// check validity against real time.
	notBefore := time.Now().Add(-time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "entrasim test CA", Organization: []string{"tokenhealth entrasim"}},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "entrasim"},
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:     append([]string{"localhost"}, ProductionHosts...),
	}
	for _, h := range extraHosts {
		if ip := net.ParseIP(h); ip != nil {
			leafTmpl.IPAddresses = append(leafTmpl.IPAddresses, ip)
		} else if h != "" {
			leafTmpl.DNSNames = append(leafTmpl.DNSNames, h)
		}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &simPKI{
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pool:  pool,
		leaf:  tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey},
	}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// WriteCAFile writes the simulator's CA certificate (PEM) to path, for
// clients such as MSAL Python (verify=path) or curl --cacert.
func (s *Server) WriteCAFile(path string) error {
	return os.WriteFile(path, s.pki.caPEM, 0o644)
}

// CACertPEM returns the CA certificate in PEM form.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.pki.caPEM...) }

// CertPool returns a pool trusting only the simulator's CA.
func (s *Server) CertPool() *x509.CertPool { return s.pki.pool }

// ClientTransport returns an HTTP/2-capable transport that trusts the
// simulator's CA, for clients using its explicit address (mode A:
// https://127.0.0.1:PORT/<tenant>).
func (s *Server) ClientTransport() *http.Transport {
	return &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: s.pki.pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
}

// RedirectTransport returns a transport for clients that keep production
// URLs (mode B): every connection, whatever host it names, is dialled to
// the simulator, and TLS verifies the production host name against the
// simulator's CA. This is the transport to hand to MSAL (WithHTTPClient),
// the Graph middleware and slack-go.
func (s *Server) RedirectTransport() *http.Transport {
	return RedirectTransport(s.Addr(), s.pki.pool)
}

// RedirectTransport is the standalone form of Server.RedirectTransport for
// clients in another process: addr is the simulator's listen address and
// roots holds its CA (see LoadCAPool).
func RedirectTransport(addr string, roots *x509.CertPool) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		// A custom DialContext turns HTTP/2 off unless forced.
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
}

// LoadCAPool reads a CA PEM file written by --ca-out.
func LoadCAPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, &os.PathError{Op: "parse CA", Path: path, Err: os.ErrInvalid}
	}
	return pool, nil
}
