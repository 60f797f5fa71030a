package teams

import (
	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/notify/internal/cfgcheck"
)

// Config is a Microsoft Teams Workflows webhook receiver (`teams:`). A
// Workflows URL carries its signature (sig=...), so it is a secret.
type Config struct {
	WebhookURL           secret.Secret `yaml:"webhook_url"`
	WebhookURLFile       string        `yaml:"webhook_url_file"`
	WebhookURLCredential string        `yaml:"webhook_url_credential"`
}

// Validate reports every problem, each naming its field under path.
func (c *Config) Validate(path string) []error {
	if err := cfgcheck.OneSource(path, "webhook_url", c.WebhookURL, c.WebhookURLFile, c.WebhookURLCredential); err != nil {
		return []error{err}
	}
	if err := cfgcheck.RequireSecret(path, "webhook_url", c.WebhookURL, c.WebhookURLFile, c.WebhookURLCredential); err != nil {
		return []error{err}
	}
	if u := c.WebhookURL.Reveal(); u != "" {
		if err := cfgcheck.CheckURL(path+".webhook_url", u); err != nil {
			return []error{err}
		}
	}
	return nil
}
