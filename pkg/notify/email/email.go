// Package email delivers alerts over SMTP (go-mail): STARTTLS mandatory by
// default or implicit TLS, AUTH when a username is set, multipart text and
// HTML, and Message-ID / References so a resolved mail threads with its
// firing mail in every mail client.
package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

const integration = "email"

// Email sends one mail per message to every recipient.
type Email struct {
	cfg     *Config
	roots   *x509.CertPool
	timeout time.Duration
	domain  string
}

// New builds an e-mail integration. roots adds trusted CAs (nil: system).
func New(cfg *Config, roots *x509.CertPool) *Email {
	domain := "tokenhealth.invalid"
	if _, d, ok := strings.Cut(cfg.From, "@"); ok {
		domain = strings.Trim(d, "> ")
	}
	return &Email{cfg: cfg, roots: roots, timeout: 30 * time.Second, domain: domain}
}

// MessageID is the Message-ID of the mail for message id. It is derived,
// not random, so that a resolved mail can name its firing mail without
// looking anything up, and a redelivery keeps the same ID (mail systems
// can drop the duplicate).
func (e *Email) MessageID(id string) string { return id + "@" + e.domain }

func (e *Email) client() (*mail.Client, error) {
	host, port := e.cfg.HostPort()
	opts := []mail.Option{
		mail.WithPort(port), mail.WithTimeout(e.timeout),
		mail.WithTLSConfig(&tls.Config{ServerName: host, RootCAs: e.roots, InsecureSkipVerify: e.cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12}),
	}
	if e.cfg.TLSMode() == TLSImplicit {
		opts = append(opts, mail.WithSSL())
	} else {
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSMandatory))
	}
	if e.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(e.cfg.Username), mail.WithPassword(e.cfg.Password.Reveal()))
	}
	return mail.NewClient(host, opts...)
}

func (e *Email) build(m *notify.Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(e.cfg.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(e.cfg.To...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(Subject(m))
	msg.SetMessageIDWithValue(e.MessageID(m.ID))
	if m.ThreadOf != "" {
		ref := "<" + e.MessageID(m.ThreadOf) + ">"
		msg.SetGenHeader(mail.HeaderInReplyTo, ref)
		msg.SetGenHeader(mail.HeaderReferences, ref)
	}
	msg.SetDateWithValue(m.Now)
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader("X-Tokenhealth-Id", m.ID)
	msg.SetBodyString(mail.TypeTextPlain, Text(m))
	h, err := HTML(m)
	if err != nil {
		return nil, err
	}
	msg.AddAlternativeString(mail.TypeTextHTML, h)
	return msg, nil
}

// Notify sends msg once.
func (e *Email) Notify(ctx context.Context, m *notify.Message) (bool, error) {
	msg, err := e.build(m)
	if err != nil {
		return false, &notify.Error{Integration: integration, Reason: notify.FailRender, Err: err}
	}
	c, err := e.client()
	if err != nil {
		return false, &notify.Error{Integration: integration, Reason: notify.FailConfig, AgentHealth: true, Err: err}
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(err)
	}
	m.PostedRef = "<" + e.MessageID(m.ID) + ">"
	return false, nil
}

// classify: SMTP 4xx and connection problems are retried; 5xx are not, and
// a rejected login, recipient or TLS setup is our configuration's fault.
func classify(err error) (bool, error) {
	ne := &notify.Error{Integration: integration, Err: err}
	var se *mail.SendError
	var tpe *textproto.Error
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var netErr net.Error
	switch {
	case errors.As(err, &se):
		code := se.ErrorCode()
		if se.IsTemp() || (code >= 400 && code < 500) {
			ne.Reason = notify.FailServer
			return true, ne
		}
		ne.Reason = notify.FailClient
		if se.Reason == mail.ErrSMTPRcptTo || se.Reason == mail.ErrSMTPMailFrom {
			ne.Reason, ne.AgentHealth = notify.FailConfig, true
		}
		return false, ne
	case errors.As(err, &tpe):
		if tpe.Code >= 400 && tpe.Code < 500 {
			ne.Reason = notify.FailServer
			return true, ne
		}
		ne.Reason = notify.FailClient
		if tpe.Code == 535 || tpe.Code == 534 || tpe.Code == 530 || strings.Contains(err.Error(), "SMTP AUTH failed") {
			ne.Reason, ne.AgentHealth = notify.FailAuth, true
		}
		return false, ne
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr),
		strings.Contains(err.Error(), "does not support STARTTLS"):
		// The server cannot give us the encrypted session we require:
		// retrying will not change that, an operator must.
		ne.Reason, ne.AgentHealth = notify.FailConfig, true
		return false, ne
	case errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		ne.Reason = notify.FailConnection
		return true, ne
	case strings.Contains(err.Error(), "SMTP AUTH failed"):
		ne.Reason, ne.AgentHealth = notify.FailAuth, true
		return false, ne
	}
	// Dial failures arrive wrapped in go-mail's own text; treat anything
	// unrecognised as a connection problem worth another attempt.
	ne.Reason = notify.FailConnection
	return true, ne
}
