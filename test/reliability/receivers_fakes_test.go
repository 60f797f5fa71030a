package reliability

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// delivered is one alert as a receiver showed it to people, reduced to
// what identifies it: the notifier's alert key is tenant, kind and first
// policy, and a message says whether it fires or resolves, and why now.
type delivered struct {
	Status string // firing or resolved
	Reason string // new, escalated, repeat, resolved
	Kind   string // the kind's headline words (notify.KindTitle)
	Tenant string // tenant id
	Policy string // first responsible policy id, or ""
}

func (d delivered) String() string {
	return fmt.Sprintf("%s/%s %q tenant=%s policy=%s", d.Status, d.Reason, d.Kind, d.Tenant, d.Policy)
}

// loopbackCert is a self-signed certificate for 127.0.0.1, the only name
// the fake Slack and SMTP servers answer to, and its PEM for the agent's
// CA bundle: the clients verify it like any public certificate.
func loopbackCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "receivers test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// Slack Web API fake: chat.postMessage over HTTPS with the wire shapes of
// the real API (form fields in, {"ok":...} out), so the real slack-go
// client runs unmodified.
const (
	slackBotToken = "xoxb-1111111111-2222222222-receiverstest"
	slackChannel  = "C0ALERTS1"
)

type slackPost struct {
	TS       string
	ThreadTS string
	Alerts   []delivered
}

type fakeSlack struct {
	srv  *httptest.Server
	down atomic.Bool // answer 503, as Slack does during an incident

	mu       sync.Mutex
	posts    []slackPost
	refused  int // requests answered 503 while down
	badInput []string
}

func newFakeSlack(t *testing.T, cert tls.Certificate) *fakeSlack {
	f := &fakeSlack{}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

// apiURL is what the receiver's api_url names.
func (f *fakeSlack) apiURL() string { return f.srv.URL + "/api/" }

func slackAnswer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/chat.postMessage" || r.Method != http.MethodPost {
		slackAnswer(w, map[string]any{"ok": false, "error": "unknown_method"})
		return
	}
	if f.down.Load() {
		f.mu.Lock()
		f.refused++
		f.mu.Unlock()
		http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
		return
	}
	if err := r.ParseForm(); err != nil {
		slackAnswer(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	token := r.PostForm.Get("token")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = bearer
	}
	if token != slackBotToken {
		slackAnswer(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	if r.PostForm.Get("channel") != slackChannel {
		slackAnswer(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	alerts, err := parseSlackBlocks(r.PostForm.Get("blocks"))
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.badInput = append(f.badInput, err.Error())
		slackAnswer(w, map[string]any{"ok": false, "error": "invalid_blocks"})
		return
	}
	ts := fmt.Sprintf("1790000000.%06d", len(f.posts)+1)
	f.posts = append(f.posts, slackPost{TS: ts, ThreadTS: r.PostForm.Get("thread_ts"), Alerts: alerts})
	slackAnswer(w, map[string]any{"ok": true, "channel": slackChannel, "ts": ts,
		"message": map[string]any{"type": "message", "bot_id": "B0TOKENH", "text": r.PostForm.Get("text"), "ts": ts}})
}

func (f *fakeSlack) snapshot() (posts []slackPost, refused int, bad []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slackPost(nil), f.posts...), f.refused, append([]string(nil), f.badInput...)
}

var (
	tenantsSuffix = regexp.MustCompile(` \(\d+ tenants\)$`)
	slackTenantID = regexp.MustCompile("\\(`([0-9a-f-]{36})`\\)")
	slackPolicyID = regexp.MustCompile("\\*Responsible policy:\\*\n• [^\n]*\\(`([^`]+)`\\)")
)

// parseSlackBlocks reads back what pkg/notify/slack renders: a header
// "SEVERITY Kind words" (or "RESOLVED ..."), one section per alert with the
// tenant id and the responsible policies, and a context line
// "tokenhealth · reason · time · id".
func parseSlackBlocks(raw string) ([]delivered, error) {
	var blocks []struct {
		Type     string                  `json:"type"`
		Text     struct{ Text string }   `json:"text"`
		Elements []struct{ Text string } `json:"elements"`
	}
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return nil, fmt.Errorf("blocks: %v", err)
	}
	var status, kind, reason string
	var sections []string
	for _, b := range blocks {
		switch b.Type {
		case "header":
			label, words, _ := strings.Cut(tenantsSuffix.ReplaceAllString(b.Text.Text, ""), " ")
			status, kind = "firing", words
			if label == "RESOLVED" {
				status = "resolved"
			}
		case "section":
			sections = append(sections, b.Text.Text)
		case "context":
			if len(b.Elements) > 0 {
				if parts := strings.Split(b.Elements[0].Text, " · "); len(parts) > 1 {
					reason = parts[1]
				}
			}
		}
	}
	if status == "" || reason == "" || len(sections) == 0 {
		return nil, fmt.Errorf("no header, context or alert section in %s", raw)
	}
	var out []delivered
	for _, s := range sections {
		m := slackTenantID.FindStringSubmatch(s)
		if m == nil {
			return nil, fmt.Errorf("section without a tenant id (more than the sections Slack allows?): %q", s)
		}
		d := delivered{Status: status, Reason: reason, Kind: kind, Tenant: m[1]}
		if p := slackPolicyID.FindStringSubmatch(s); p != nil {
			d.Policy = p[1]
		}
		out = append(out, d)
	}
	return out, nil
}

// ports are remembered so a receiver comes back where the agent expects it.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
