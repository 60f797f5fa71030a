// Package teams delivers alerts to Microsoft Teams through a Workflows
// ("Post to a channel when a webhook request is received") webhook, as an
// Adaptive Card.
package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

const integration = "teams"

// Teams posts Adaptive Cards to a Workflows webhook.
type Teams struct {
	url string
	hc  *http.Client
}

// New builds a Teams integration; hc carries proxy and CA settings.
func New(cfg *Config, hc *http.Client) *Teams {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Teams{url: cfg.WebhookURL.Reveal(), hc: hc}
}

// Notify posts msg as one card. Workflows answers 202 once it accepted the
// request; the URL is a credential, so errors never show it.
func (t *Teams) Notify(ctx context.Context, msg *notify.Message) (bool, error) {
	body, err := json.Marshal(Card(msg))
	if err != nil {
		return false, &notify.Error{Integration: integration, Reason: notify.FailRender, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return false, &notify.Error{Integration: integration, Reason: notify.FailConfig, Err: notify.RedactError(err)}
	}
	req.Header.Set("Content-Type", "application/json")
	return notify.SendHTTP(t.hc, integration, req)
}
