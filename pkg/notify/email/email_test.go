package email

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/notify/notifytest"
)

// testCA makes a self-signed certificate for 127.0.0.1 and a pool trusting it.
func testCA(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// received is one mail as the server saw it.
type received struct {
	from     string
	rcpts    []string
	data     []byte
	authUser string
	tls      bool
}

type backend struct {
	mu       sync.Mutex
	mails    []received
	rcptCode int // answer RCPT with this SMTP code when set
	dataCode int // answer DATA with this SMTP code when set
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{b: b, conn: c}, nil
}

type session struct {
	b    *backend
	conn *smtp.Conn
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "alerts" || pass != "s3cret-pass" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.cur.authUser = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.cur.authUser == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	s.cur.from = from
	_, s.cur.tls = s.conn.TLSConnectionState()
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.b.rcptCode != 0 {
		return &smtp.SMTPError{Code: s.b.rcptCode, Message: "no such user"}
	}
	s.cur.rcpts = append(s.cur.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.dataCode != 0 {
		return &smtp.SMTPError{Code: s.b.dataCode, Message: "try later"}
	}
	s.cur.data = data
	s.b.mu.Lock()
	s.b.mails = append(s.b.mails, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{authUser: s.cur.authUser} }
func (s *session) Logout() error { return nil }

// serve starts an SMTP server; implicit wraps the listener in TLS,
// starttls advertises STARTTLS.
func serve(t *testing.T, b *backend, cert tls.Certificate, mode string) string {
	t.Helper()
	srv := smtp.NewServer(b)
	srv.Domain = "127.0.0.1"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case "implicit":
		l = tls.NewListener(l, tlsCfg)
	case "starttls":
		srv.TLSConfig = tlsCfg
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

func config(addr, mode string) *Config {
	return &Config{Smarthost: addr, From: "tokenhealth@msp.example", To: []string{"ops@msp.example", "oncall@msp.example"},
		Username: "alerts", Password: secret.New("s3cret-pass"), TLS: mode}
}

func TestStartTLSAuthMultipartThreading(t *testing.T) {
	cert, pool := testCA(t)
	b := &backend{}
	addr := serve(t, b, cert, "starttls")
	e := New(config(addr, ""), pool)
	firing := notifytest.Firing()
	if retry, err := e.Notify(context.Background(), firing); err != nil {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	if _, err := e.Notify(context.Background(), notifytest.Resolved()); err != nil {
		t.Fatal(err)
	}
	if len(b.mails) != 2 {
		t.Fatalf("%d mails received", len(b.mails))
	}
	m0 := b.mails[0]
	if !m0.tls || m0.authUser != "alerts" || m0.from != "tokenhealth@msp.example" ||
		strings.Join(m0.rcpts, ",") != "ops@msp.example,oncall@msp.example" {
		t.Fatalf("envelope: tls=%v auth=%q from=%q rcpts=%v", m0.tls, m0.authUser, m0.from, m0.rcpts)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m0.data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "[CRITICAL] Delegated token will break: 2 tenants" {
		t.Errorf("Subject = %q", subject)
	}
	wantID := "<" + firing.ID + "@msp.example>"
	if msg.Header.Get("Message-Id") != wantID || firing.PostedRef != wantID {
		t.Errorf("Message-ID = %q, PostedRef = %q, want %q", msg.Header.Get("Message-Id"), firing.PostedRef, wantID)
	}
	if to := msg.Header.Get("To"); !strings.Contains(to, "ops@msp.example") || !strings.Contains(to, "oncall@msp.example") {
		t.Errorf("To = %q", to)
	}
	text, html := parts(t, msg)
	for _, want := range []string{"Contoso <!channel> & Sons (6f1c2d3e-0000-4000-8000-000000000001)", "breaks at 2026-11-28 13:00 UTC (in 1 d 4 h)",
		"Responsible policy: " + notifytest.HostilePolicy, "1. Exclude svc-sync@contoso.com", "Full story: tokenhealth explain 6f1c2d3e-0000-4000-8000-000000000001"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q", want)
		}
	}
	for _, want := range []string{"Contoso &lt;!channel&gt; &amp; Sons", "&lt;script&gt;alert(1)&lt;/script&gt;", "in 1 d 4 h", "tokenhealth explain 6f1c2d3e"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Error("HTML part contains an unescaped <script>")
	}
	// The resolved mail names the firing one.
	r, _ := mail.ReadMessage(bytes.NewReader(b.mails[1].data))
	if r.Header.Get("In-Reply-To") != wantID || r.Header.Get("References") != wantID {
		t.Errorf("resolved In-Reply-To=%q References=%q, want %q", r.Header.Get("In-Reply-To"), r.Header.Get("References"), wantID)
	}
	notifytest.Golden(t, "email_firing.txt", []byte(text))
	notifytest.Golden(t, "email_firing.html", []byte(html))
}

// parts returns the decoded text/plain and text/html parts.
func parts(t *testing.T, msg *mail.Message) (string, string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	got := map[string]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p) // multipart.Reader decodes quoted-printable
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		got[ct] = string(body)
	}
	if got["text/plain"] == "" || got["text/html"] == "" {
		t.Fatalf("parts: %v", got)
	}
	return strings.ReplaceAll(got["text/plain"], "\r\n", "\n"), strings.ReplaceAll(got["text/html"], "\r\n", "\n")
}

func TestImplicitTLS(t *testing.T) {
	cert, pool := testCA(t)
	b := &backend{}
	addr := serve(t, b, cert, "implicit")
	if _, err := New(config(addr, TLSImplicit), pool).Notify(context.Background(), notifytest.Firing()); err != nil {
		t.Fatal(err)
	}
	if len(b.mails) != 1 || !b.mails[0].tls {
		t.Fatalf("mails=%d", len(b.mails))
	}
}

func TestFailuresDecideRetry(t *testing.T) {
	cert, pool := testCA(t)
	cases := []struct {
		name        string
		mode        string // server mode
		cfg         func(*Config)
		b           *backend
		roots       *x509.CertPool
		retry       bool
		reason      string
		agentHealth bool
	}{
		{"server without STARTTLS", "plain", nil, &backend{}, pool, false, notify.FailConfig, true},
		{"untrusted certificate", "starttls", nil, &backend{}, x509.NewCertPool(), false, notify.FailConfig, true},
		{"wrong password", "starttls", func(c *Config) { c.Password = secret.New("wrong") }, &backend{}, pool, false, notify.FailAuth, true},
		{"recipient rejected 550", "starttls", nil, &backend{rcptCode: 550}, pool, false, notify.FailConfig, true},
		{"greylisted 451 at DATA", "starttls", nil, &backend{dataCode: 451}, pool, true, notify.FailServer, false},
		{"rejected 554 at DATA", "starttls", nil, &backend{dataCode: 554}, pool, false, notify.FailClient, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := serve(t, c.b, cert, c.mode)
			cfg := config(addr, "")
			if c.cfg != nil {
				c.cfg(cfg)
			}
			retry, err := New(cfg, c.roots).Notify(context.Background(), notifytest.Firing())
			var ne *notify.Error
			if !errors.As(err, &ne) {
				t.Fatalf("err = %v", err)
			}
			if retry != c.retry || ne.Reason != c.reason || ne.AgentHealth != c.agentHealth {
				t.Fatalf("retry=%v reason=%s agentHealth=%v; want %v %s %v (err: %v)", retry, ne.Reason, ne.AgentHealth, c.retry, c.reason, c.agentHealth, err)
			}
			if strings.Contains(err.Error(), "s3cret-pass") {
				t.Fatal("password in error")
			}
		})
	}
	// Nothing listening: a connection error, retried.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	_ = l.Close()
	retry, err := New(config(addr, ""), pool).Notify(context.Background(), notifytest.Firing())
	if !retry || err == nil {
		t.Fatalf("refused connection: retry=%v err=%v", retry, err)
	}
}

func TestSubjectCannotInjectHeaders(t *testing.T) {
	m := notifytest.Resolved()
	m.Alerts[0].Finding.TenantName = "Evil\r\nBcc: victim@example.com"
	if got := Subject(m); strings.ContainsAny(got, "\r\n") || got != "[RESOLVED] Delegated token will break: Evil  Bcc: victim@example.com" {
		t.Fatalf("Subject = %q", got)
	}
}
