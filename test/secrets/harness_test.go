package secrets

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/e2etest"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
)

// recordingFront serves the simulator's handler behind its own TLS
// listener and records every token the simulator's token endpoint hands
// out, exactly as it went over the wire. The simulator needs no hook for
// this: the test sees what the agent saw.
type recordingFront struct {
	srv    *httptest.Server
	caPEM  []byte
	mu     sync.Mutex
	tokens map[string]string // token -> kind (access_token, refresh_token, id_token)
}

func newRecordingFront(t *testing.T, sim *entrasim.Server) *recordingFront {
	t.Helper()
	f := &recordingFront{tokens: map[string]string{}}
	inner := sim.Handler()
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/token") {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		f.record(rec.Body.Bytes())
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	cert, caPEM := productionCert(t)
	f.caPEM = caPEM
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *recordingFront) addr() string { return f.srv.Listener.Addr().String() }

func (f *recordingFront) record(body []byte) {
	var resp map[string]any
	if json.Unmarshal(body, &resp) != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, kind := range []string{"access_token", "refresh_token", "id_token"} {
		if s, ok := resp[kind].(string); ok && s != "" {
			f.tokens[s] = kind
		}
	}
}

// issued returns the recorded tokens and how many of each kind.
func (f *recordingFront) issued() (map[string]string, map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out, counts := map[string]string{}, map[string]int{}
	for tok, kind := range f.tokens {
		out[tok] = kind
		counts[kind]++
	}
	return out, counts
}

// productionCert is a throwaway CA and a leaf for the production host
// names the agent dials (the redirect dialer sends them here).
func productionCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "leak-test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "leak-test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: append([]string{"localhost"}, entrasim.ProductionHosts...), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// readable is a request to a fake receiver as people read it. Slack's Web
// API receives the bot token itself (in the form or the Authorization
// header): that is its job. What is kept is what people read: the message,
// not the credential that sent it.
func readable(q e2etest.Request) string {
	body := q.Body
	if strings.HasPrefix(q.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil {
			form.Del("token")
			body = []byte(form.Encode())
		}
	}
	return q.Method + " " + q.URL + "\n" + string(body)
}
