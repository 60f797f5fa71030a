package alertmanager

import (
	"fmt"

	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/notify/internal/cfgcheck"
)

// Config is an Alertmanager receiver (`alertmanager:`): alerts are posted to
// URL + /api/v2/alerts.
type Config struct {
	URL                         string        `yaml:"url"`
	BasicAuthUsername           string        `yaml:"basic_auth_username"`
	BasicAuthPassword           secret.Secret `yaml:"basic_auth_password"`
	BasicAuthPasswordFile       string        `yaml:"basic_auth_password_file"`
	BasicAuthPasswordCredential string        `yaml:"basic_auth_password_credential"`
}

// Validate reports every problem, each naming its field under path.
func (c *Config) Validate(path string) []error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, fmt.Errorf("%s.url: required (e.g. http://127.0.0.1:9093)", path))
	} else if err := cfgcheck.CheckURL(path+".url", c.URL); err != nil {
		errs = append(errs, err)
	}
	if err := cfgcheck.OneSource(path, "basic_auth_password", c.BasicAuthPassword, c.BasicAuthPasswordFile, c.BasicAuthPasswordCredential); err != nil {
		errs = append(errs, err)
	}
	pw := cfgcheck.SecretSet(c.BasicAuthPassword, c.BasicAuthPasswordFile, c.BasicAuthPasswordCredential)
	switch {
	case pw && c.BasicAuthUsername == "":
		errs = append(errs, fmt.Errorf("%s.basic_auth_username: required when basic_auth_password is set", path))
	case !pw && c.BasicAuthUsername != "":
		errs = append(errs, fmt.Errorf("%s.basic_auth_password: required when basic_auth_username is set", path))
	}
	return errs
}
