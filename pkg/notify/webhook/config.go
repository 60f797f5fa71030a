package webhook

import (
	"fmt"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/notify/internal/cfgcheck"
)

// DefaultTimeout bounds one delivery attempt when timeout is not set.
const DefaultTimeout = 10 * time.Second

// Config is a generic JSON webhook receiver (`webhook:`); the body schema is
// documented in SCHEMA.md.
type Config struct {
	URL                   string        `yaml:"url"`
	BearerToken           secret.Secret `yaml:"bearer_token"`
	BearerTokenFile       string        `yaml:"bearer_token_file"`
	BearerTokenCredential string        `yaml:"bearer_token_credential"`
	// HMACSecret signs every body (X-Tokenhealth-Signature) so the receiver
	// can tell our alerts from forged ones.
	HMACSecret           secret.Secret `yaml:"hmac_secret"`
	HMACSecretFile       string        `yaml:"hmac_secret_file"`
	HMACSecretCredential string        `yaml:"hmac_secret_credential"`
	Timeout              time.Duration `yaml:"timeout"`
}

// EffectiveTimeout returns Timeout or DefaultTimeout when unset.
func (c *Config) EffectiveTimeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// Validate reports every problem, each naming its field under path.
func (c *Config) Validate(path string) []error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, fmt.Errorf("%s.url: required", path))
	} else if err := cfgcheck.CheckURL(path+".url", c.URL); err != nil {
		errs = append(errs, err)
	}
	if err := cfgcheck.OneSource(path, "bearer_token", c.BearerToken, c.BearerTokenFile, c.BearerTokenCredential); err != nil {
		errs = append(errs, err)
	}
	if err := cfgcheck.OneSource(path, "hmac_secret", c.HMACSecret, c.HMACSecretFile, c.HMACSecretCredential); err != nil {
		errs = append(errs, err)
	}
	if n := len(c.HMACSecret.Reveal()); n > 0 && n < 16 {
		errs = append(errs, fmt.Errorf("%s.hmac_secret: too short (%d bytes); use at least 16 random bytes", path, n))
	}
	if c.Timeout < 0 || c.Timeout > 5*time.Minute {
		errs = append(errs, fmt.Errorf("%s.timeout: %s is out of range (0 for the default %s, at most 5m)", path, c.Timeout, DefaultTimeout))
	}
	return errs
}
