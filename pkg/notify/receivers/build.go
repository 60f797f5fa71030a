// Package receivers builds the notifier's receivers, routes and timing from
// the loaded configuration. It is the one place that knows every
// integration, so pkg/notify itself depends on none of them.
package receivers

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/notify/alertmanager"
	"github.com/tokenhealth/tokenhealth/pkg/notify/email"
	"github.com/tokenhealth/tokenhealth/pkg/notify/slack"
	"github.com/tokenhealth/tokenhealth/pkg/notify/teams"
	"github.com/tokenhealth/tokenhealth/pkg/notify/webhook"
)

// Deps are the process-wide resources integrations share.
type Deps struct {
	// HTTPClient carries the CA bundle and proxy (internal/transport).
	HTTPClient *http.Client
	// RootCAs are trusted for SMTP TLS; nil derives them from HTTPClient's
	// transport, or uses the system roots.
	RootCAs *x509.CertPool
	// ResendInterval is how often Alertmanager receivers get firing alerts
	// again (default notify.DefaultResendInterval).
	ResendInterval time.Duration
}

func (d Deps) roots() *x509.CertPool {
	if d.RootCAs != nil {
		return d.RootCAs
	}
	if d.HTTPClient != nil {
		rt := d.HTTPClient.Transport
		// transport.New wraps its pool in a response size cap.
		if w, ok := rt.(interface{ Unwrap() http.RoundTripper }); ok {
			rt = w.Unwrap()
		}
		if tr, ok := rt.(*http.Transport); ok && tr.TLSClientConfig != nil {
			return tr.TLSClientConfig.RootCAs
		}
	}
	return nil
}

// Build turns one configured receiver into a notify.Receiver.
func Build(r config.Receiver, d Deps) (notify.Receiver, error) {
	out := notify.Receiver{Name: r.Name, Delivery: notify.Grouped}
	switch {
	case r.Slack != nil:
		out.Type, out.Integration = "slack", slack.NewBot(r.Slack, d.HTTPClient)
	case r.SlackWebhook != nil:
		out.Type, out.Integration = "slack", slack.NewWebhook(r.SlackWebhook, d.HTTPClient)
	case r.Email != nil:
		out.Type, out.Integration = "email", email.New(r.Email, d.roots())
	case r.Webhook != nil:
		out.Type, out.Integration = "webhook", webhook.New(r.Webhook, d.HTTPClient)
	case r.Teams != nil:
		out.Type, out.Integration = "teams", teams.New(r.Teams, d.HTTPClient)
	case r.Alertmanager != nil:
		resend := d.ResendInterval
		if resend <= 0 {
			resend = notify.DefaultResendInterval
		}
		out.Type, out.Integration, out.Delivery = "alertmanager", alertmanager.New(r.Alertmanager, d.HTTPClient, resend), notify.PerAlert
	default:
		return notify.Receiver{}, fmt.Errorf("receiver %q has no integration", r.Name)
	}
	return out, nil
}

// Options fills the receiver, routing and timing fields of notify.Options
// from cfg; the caller adds DB, Clock, Registerer and Logger.
func Options(cfg *config.Config, d Deps) (notify.Options, error) {
	o := notify.Options{
		WarningLead:    cfg.Global.AlertWarningLead.D(),
		CriticalLead:   cfg.Global.AlertCriticalLead.D(),
		RepeatInterval: cfg.Global.RepeatInterval.D(),
		GroupWindow:    cfg.Global.GroupWindow.D(),
		ResendInterval: d.ResendInterval,
		Tenants:        TenantLookup(cfg),
	}
	for _, r := range cfg.Receivers {
		rec, err := Build(r, d)
		if err != nil {
			return notify.Options{}, err
		}
		o.Receivers = append(o.Receivers, rec)
	}
	for _, rt := range cfg.Routes {
		o.Routes = append(o.Routes, notify.Route{Receiver: rt.Receiver, Severities: rt.Severities, Tags: rt.Tags, Kinds: rt.Kinds})
	}
	return o, nil
}

// TenantLookup answers routing's questions about tenants from cfg.
func TenantLookup(cfg *config.Config) notify.TenantLookup {
	byID := make(map[string]notify.TenantInfo, len(cfg.Tenants))
	for _, t := range cfg.Tenants {
		byID[t.ID] = notify.TenantInfo{ID: t.ID, Name: t.Name, Tags: t.Tags}
	}
	return func(id string) (notify.TenantInfo, bool) {
		ti, ok := byID[id]
		return ti, ok
	}
}
