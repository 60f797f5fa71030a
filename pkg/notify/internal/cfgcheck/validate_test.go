package cfgcheck_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/notify/alertmanager"
	"github.com/tokenhealth/tokenhealth/pkg/notify/email"
	"github.com/tokenhealth/tokenhealth/pkg/notify/slack"
	"github.com/tokenhealth/tokenhealth/pkg/notify/teams"
	"github.com/tokenhealth/tokenhealth/pkg/notify/webhook"
)

type validator interface{ Validate(path string) []error }

// TestReceiverValidation checks the exact messages, each naming its field
// path, for every integration's configuration.
func TestReceiverValidation(t *testing.T) {
	const p = "receivers[0]"
	cases := []struct {
		name string
		cfg  validator
		want []string
	}{
		{"slack ok", &slack.Config{BotToken: secret.New("xoxb-1"), Channel: "C0123"}, nil},
		{"slack ok via file", &slack.Config{BotTokenFile: "/etc/tokenhealth/slack", Channel: "C0123"}, nil},
		{"slack empty", &slack.Config{}, []string{
			p + ".slack.bot_token: required (set bot_token, bot_token_file or bot_token_credential)",
			p + ".slack.channel: required (a channel ID such as C0123ABCD)",
		}},
		{"slack two sources and bad token", &slack.Config{BotToken: secret.New("hunter2"), BotTokenCredential: "slack", Channel: "C1", APIURL: "http://slack.example/api/"}, []string{
			p + ".slack.bot_token: set only one of bot_token, bot_token_file, bot_token_credential",
			p + ".slack.bot_token: not a Slack bot token (expected xoxb-...)",
			p + `.slack.api_url: plain http:// is refused for non-loopback host "slack.example"; use https://`,
		}},
		{"slack webhook missing", &slack.WebhookConfig{}, []string{p + ".slack_webhook.url: required (set url, url_file or url_credential)"}},
		{"slack webhook relative", &slack.WebhookConfig{URL: secret.New("/services/x")}, []string{p + ".slack_webhook.url: must be an absolute http:// or https:// URL"}},
		{"email ok", &email.Config{Smarthost: "smtp.example.com:587", From: "a@x.example", To: []string{"b@y.example"}}, nil},
		{"email everything wrong", &email.Config{Smarthost: "smtp.example.com", From: "nobody", To: []string{"ok@x.example", "bad"}, TLS: "none", Username: "u"}, []string{
			p + `.email.smarthost: "smtp.example.com" is not host:port`,
			p + `.email.from: "nobody" is not an e-mail address`,
			p + `.email.to[1]: "bad" is not an e-mail address`,
			p + `.email.tls: "none" is not one of starttls, implicit`,
			p + ".email.password: required when username is set (set password, password_file or password_credential)",
		}},
		{"email no recipient, bad port", &email.Config{Smarthost: "h:99999", From: "a@x.example"}, []string{
			p + `.email.smarthost: port "99999" is not a number between 1 and 65535`,
			p + ".email.to: at least one recipient",
		}},
		{"webhook ok loopback http", &webhook.Config{URL: "http://127.0.0.1:8080/hook", HMACSecret: secret.New("0123456789abcdef")}, nil},
		{"webhook bad", &webhook.Config{URL: "http://hooks.example/x", HMACSecret: secret.New("short"), Timeout: -time.Second}, []string{
			p + `.webhook.url: plain http:// is refused for non-loopback host "hooks.example"; use https://`,
			p + ".webhook.hmac_secret: too short (5 bytes); use at least 16 random bytes",
			p + ".webhook.timeout: -1s is out of range (0 for the default 10s, at most 5m)",
		}},
		{"teams missing", &teams.Config{}, []string{p + ".teams.webhook_url: required (set webhook_url, webhook_url_file or webhook_url_credential)"}},
		{"teams ok", &teams.Config{WebhookURLCredential: "teams-url"}, nil},
		{"alertmanager ok", &alertmanager.Config{URL: "http://localhost:9093"}, nil},
		{"alertmanager bad", &alertmanager.Config{BasicAuthPassword: secret.New("pw")}, []string{
			p + ".alertmanager.url: required (e.g. http://127.0.0.1:9093)",
			p + ".alertmanager.basic_auth_username: required when basic_auth_password is set",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := p + "." + integrationKey(c.cfg)
			var got []string
			for _, err := range c.cfg.Validate(path) {
				got = append(got, err.Error())
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("secret value in %q", err)
				}
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func integrationKey(v validator) string {
	switch v.(type) {
	case *slack.Config:
		return "slack"
	case *slack.WebhookConfig:
		return "slack_webhook"
	case *email.Config:
		return "email"
	case *webhook.Config:
		return "webhook"
	case *teams.Config:
		return "teams"
	}
	return "alertmanager"
}
