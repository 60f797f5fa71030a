package slack

import (
	"fmt"
	"strings"

	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/notify/internal/cfgcheck"
)

// DefaultAPIURL is Slack's Web API base; slack-go needs the trailing slash.
const DefaultAPIURL = "https://slack.com/api/"

// Config is a bot-token receiver (`slack:`): chat.postMessage with Block Kit,
// resolved messages threaded under the firing one.
type Config struct {
	BotToken           secret.Secret `yaml:"bot_token"`
	BotTokenFile       string        `yaml:"bot_token_file"`
	BotTokenCredential string        `yaml:"bot_token_credential"`
	// Channel is a channel ID (C0123...) or name; the ID survives renames.
	Channel string `yaml:"channel"`
	// APIURL overrides https://slack.com/api/ (tests, Slack GovSlack).
	APIURL string `yaml:"api_url"`
}

// APIBase returns the API URL to use, with the trailing slash slack-go needs.
func (c *Config) APIBase() string {
	u := c.APIURL
	if u == "" {
		u = DefaultAPIURL
	}
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// Validate reports every problem, each naming its field under path
// (e.g. "receivers[0].slack").
func (c *Config) Validate(path string) []error {
	var errs []error
	if err := cfgcheck.OneSource(path, "bot_token", c.BotToken, c.BotTokenFile, c.BotTokenCredential); err != nil {
		errs = append(errs, err)
	} else if err := cfgcheck.RequireSecret(path, "bot_token", c.BotToken, c.BotTokenFile, c.BotTokenCredential); err != nil {
		errs = append(errs, err)
	}
	if tok := c.BotToken.Reveal(); tok != "" && !strings.HasPrefix(tok, "xoxb-") && !strings.HasPrefix(tok, "xoxp-") {
		errs = append(errs, fmt.Errorf("%s.bot_token: not a Slack bot token (expected xoxb-...)", path))
	}
	if strings.TrimSpace(c.Channel) == "" {
		errs = append(errs, fmt.Errorf("%s.channel: required (a channel ID such as C0123ABCD)", path))
	}
	if c.APIURL != "" {
		if err := cfgcheck.CheckURL(path+".api_url", c.APIURL); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// WebhookConfig is an incoming-webhook receiver (`slack_webhook:`). The URL
// carries its own credential, so it is a secret.
type WebhookConfig struct {
	URL           secret.Secret `yaml:"url"`
	URLFile       string        `yaml:"url_file"`
	URLCredential string        `yaml:"url_credential"`
}

// Validate reports every problem, each naming its field under path.
func (c *WebhookConfig) Validate(path string) []error {
	var errs []error
	if err := cfgcheck.OneSource(path, "url", c.URL, c.URLFile, c.URLCredential); err != nil {
		return append(errs, err)
	}
	if err := cfgcheck.RequireSecret(path, "url", c.URL, c.URLFile, c.URLCredential); err != nil {
		return append(errs, err)
	}
	if u := c.URL.Reveal(); u != "" {
		if err := cfgcheck.CheckURL(path+".url", u); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
