// Package slack delivers alerts to Slack, either with a bot token through
// chat.postMessage (resolved messages reply in the thread of the firing
// one) or through an incoming webhook.
package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slack-go/slack"

	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

const integration = "slack"

// Bot posts with chat.postMessage.
type Bot struct {
	api     *slack.Client
	channel string
}

// NewBot builds a bot-token integration; hc carries proxy and CA settings.
func NewBot(cfg *Config, hc *http.Client) *Bot {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Bot{
		api:     slack.New(cfg.BotToken.Reveal(), slack.OptionAPIURL(cfg.APIBase()), slack.OptionHTTPClient(hc)),
		channel: cfg.Channel,
	}
}

// Notify posts msg; a message with a thread reference replies in that
// thread. It records "channel/ts" as the message's PostedRef.
func (b *Bot) Notify(ctx context.Context, msg *notify.Message) (bool, error) {
	blocks, text := Render(msg)
	opts := []slack.MsgOption{slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false)}
	channel := b.channel
	if ch, ts, ok := strings.Cut(msg.ThreadRef, "/"); ok && ch != "" && ts != "" {
		// Slack answers chat.postMessage with the channel ID, which is
		// what a thread reply must name even if the config uses a name.
		channel = ch
		opts = append(opts, slack.MsgOptionTS(ts))
	}
	ch, ts, err := b.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return classify(err)
	}
	msg.PostedRef = ch + "/" + ts
	return false, nil
}

// Webhook posts to an incoming webhook; it cannot thread.
type Webhook struct {
	url string
	hc  *http.Client
}

// NewWebhook builds an incoming-webhook integration.
func NewWebhook(cfg *WebhookConfig, hc *http.Client) *Webhook {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Webhook{url: cfg.URL.Reveal(), hc: hc}
}

// Notify posts msg to the webhook.
func (w *Webhook) Notify(ctx context.Context, msg *notify.Message) (bool, error) {
	blocks, text := Render(msg)
	err := slack.PostWebhookCustomHTTPContext(ctx, w.url, w.hc, &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}})
	if err != nil {
		return classify(err)
	}
	return false, nil
}

// Slack error strings (ok:false answers) that mean our configuration is
// wrong: retrying cannot help, and the operator must hear about it.
var (
	authErrors = map[string]bool{
		"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
		"token_expired": true, "no_permission": true, "missing_scope": true, "not_allowed_token_type": true,
		"ekm_access_denied": true, "team_access_not_granted": true,
	}
	destinationErrors = map[string]bool{
		"channel_not_found": true, "not_in_channel": true, "is_archived": true, "restricted_action": true,
	}
	transientErrors = map[string]bool{
		"ratelimited": true, "internal_error": true, "fatal_error": true, "service_unavailable": true, "request_timeout": true,
	}
)

// classify turns a slack-go error into the retry decision.
func classify(err error) (bool, error) {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		return true, &notify.Error{Integration: integration, Reason: notify.FailRateLimited, RetryAfter: rl.RetryAfter, Err: err}
	case errors.As(err, &sc):
		e := &notify.Error{Integration: integration, Reason: notify.ReasonHTTP(sc.Code), Err: fmt.Errorf("HTTP %d", sc.Code)}
		// A webhook answers 403/404 when it was revoked or its channel deleted.
		e.AgentHealth = sc.Code == http.StatusForbidden || sc.Code == http.StatusNotFound || sc.Code == http.StatusGone || sc.Code == http.StatusUnauthorized
		return notify.RetryableHTTP(sc.Code), e
	case errors.As(err, &se):
		e := &notify.Error{Integration: integration, Reason: notify.FailClient, Err: fmt.Errorf("slack answered %s", se.Err)}
		switch {
		case authErrors[se.Err]:
			e.Reason, e.AgentHealth = notify.FailAuth, true
		case destinationErrors[se.Err]:
			e.Reason, e.AgentHealth = notify.FailConfig, true
		case transientErrors[se.Err]:
			e.Reason = notify.FailServer
			if se.Err == "ratelimited" {
				e.Reason = notify.FailRateLimited
			}
			return true, e
		}
		return false, e
	}
	// Transport errors: dial, TLS, timeout. The URL may hold a secret.
	return true, &notify.Error{Integration: integration, Reason: notify.FailConnection, Err: notify.RedactError(err)}
}
