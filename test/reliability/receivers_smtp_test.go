package reliability

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTP submission server: go-smtp speaking the real protocol with
// STARTTLS and AUTH PLAIN (refused before TLS), as a mail relay does.
// Down means the port refuses connections; back means a new server on the
// same port, as after a relay restart.
const (
	smtpUser     = "tokenhealth-alerts"
	smtpPassword = "relay-pass-5d1f"
)

// receivedMail is one accepted mail, reduced to what the test checks.
type receivedMail struct {
	MessageID string
	InReplyTo string
	TLS       bool
	Alerts    []delivered
}

type fakeSMTP struct {
	t    *testing.T
	addr string
	cert tls.Certificate

	mu       sync.Mutex
	srv      *smtp.Server
	mails    []receivedMail
	badInput []string
}

func newFakeSMTP(t *testing.T, cert tls.Certificate) *fakeSMTP {
	f := &fakeSMTP{t: t, addr: freeLoopbackAddr(t), cert: cert}
	f.start()
	t.Cleanup(f.stop)
	return f
}

// start listens on the remembered port. Go sets SO_REUSEADDR, so the port
// is free again as soon as the previous listener is closed.
func (f *fakeSMTP) start() {
	f.t.Helper()
	var l net.Listener
	var err error
	for range 50 {
		if l, err = net.Listen("tcp", f.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		f.t.Fatalf("SMTP server cannot listen on %s again: %v", f.addr, err)
	}
	srv := smtp.NewServer(f)
	srv.Domain = "relay.msp.example"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{f.cert}, MinVersion: tls.VersionTLS12}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// stop closes the listener and every open session.
func (f *fakeSMTP) stop() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (f *fakeSMTP) snapshot() ([]receivedMail, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]receivedMail(nil), f.mails...), append([]string(nil), f.badInput...)
}

// NewSession implements smtp.Backend.
func (f *fakeSMTP) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{f: f, conn: c}, nil
}

type smtpSession struct {
	f      *fakeSMTP
	conn   *smtp.Conn
	authed bool
	rcpts  int
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != smtpUser || pass != smtpPassword {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	return nil
}

func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error {
	s.rcpts++
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, perr := parseAlertMail(raw)
	_, m.TLS = s.conn.TLSConnectionState()
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if perr != nil {
		s.f.badInput = append(s.f.badInput, perr.Error())
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparsable message"}
	}
	s.f.mails = append(s.f.mails, m)
	return nil
}

func (s *smtpSession) Reset()        { s.rcpts = 0 }
func (s *smtpSession) Logout() error { return nil }

var (
	mailTitle  = regexp.MustCompile(`^\[([A-Z ]+)\] ([^:]+): `)
	mailTenant = regexp.MustCompile(`^== .* \(([0-9a-f-]{36})\) ==$`)
	mailPolicy = regexp.MustCompile(`^Responsible policy: .* \(([^()]+)\)$`)
)

// parseAlertMail reads back what pkg/notify/email renders: the subject
// "[LABEL] Kind words: who", a text part with one "== name (id) ==" block
// per alert, and the footer "tokenhealth · reason · time · id".
func parseAlertMail(raw []byte) (receivedMail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return receivedMail{}, err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return receivedMail{}, fmt.Errorf("subject: %v", err)
	}
	title := mailTitle.FindStringSubmatch(subject)
	if title == nil {
		return receivedMail{}, fmt.Errorf("subject %q is not an alert headline", subject)
	}
	text, err := textPart(msg)
	if err != nil {
		return receivedMail{}, err
	}
	status := "firing"
	if title[1] == "RESOLVED" {
		status = "resolved"
	}
	out := receivedMail{MessageID: msg.Header.Get("Message-Id"), InReplyTo: msg.Header.Get("In-Reply-To")}
	reason := ""
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		switch {
		case mailTenant.MatchString(line):
			out.Alerts = append(out.Alerts, delivered{Status: status, Kind: title[2], Tenant: mailTenant.FindStringSubmatch(line)[1]})
		case mailPolicy.MatchString(line) && len(out.Alerts) > 0 && out.Alerts[len(out.Alerts)-1].Policy == "":
			out.Alerts[len(out.Alerts)-1].Policy = mailPolicy.FindStringSubmatch(line)[1]
		case strings.HasPrefix(line, "tokenhealth · "):
			if parts := strings.Split(line, " · "); len(parts) > 1 {
				reason = parts[1]
			}
		}
	}
	if reason == "" || len(out.Alerts) == 0 {
		return receivedMail{}, fmt.Errorf("mail %q has no alert block or footer:\n%s", subject, text)
	}
	for i := range out.Alerts {
		out.Alerts[i].Reason = reason
	}
	return out, nil
}

// textPart returns the decoded text/plain part of a multipart/alternative
// mail (or the body of a single-part text mail).
func textPart(msg *mail.Message) (string, error) {
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return "", fmt.Errorf("content type: %v", err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := decodeBody(msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
		return string(b), err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return "", errors.New("no text/plain part")
		}
		if err != nil {
			return "", err
		}
		if pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); pt == "text/plain" {
			// multipart.Part already undoes quoted-printable.
			b, err := decodeBody(p, p.Header.Get("Content-Transfer-Encoding"))
			return string(b), err
		}
	}
}

func decodeBody(r io.Reader, cte string) ([]byte, error) {
	if strings.EqualFold(strings.TrimSpace(cte), "base64") {
		return io.ReadAll(base64.NewDecoder(base64.StdEncoding, r))
	}
	return io.ReadAll(r)
}
