package email

import (
	"fmt"
	"net"
	"net/mail"
	"strconv"

	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/notify/internal/cfgcheck"
)

// TLS modes. STARTTLS is mandatory by default: an alert mail carries tenant
// names and remediation details that must not cross the network in clear.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "implicit"
)

// Config is an SMTP receiver (`email:`).
type Config struct {
	// Smarthost is host:port of the submission server.
	Smarthost          string        `yaml:"smarthost"`
	From               string        `yaml:"from"`
	To                 []string      `yaml:"to"`
	Username           string        `yaml:"username"`
	Password           secret.Secret `yaml:"password"`
	PasswordFile       string        `yaml:"password_file"`
	PasswordCredential string        `yaml:"password_credential"`
	// TLS is "starttls" (default, mandatory) or "implicit" (SMTPS, port 465).
	TLS                string `yaml:"tls"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// TLSMode returns TLS with its default applied.
func (c *Config) TLSMode() string {
	if c.TLS == "" {
		return TLSStartTLS
	}
	return c.TLS
}

// HostPort splits Smarthost; Validate has checked it.
func (c *Config) HostPort() (string, int) {
	host, p, _ := net.SplitHostPort(c.Smarthost)
	port, _ := strconv.Atoi(p)
	return host, port
}

// Validate reports every problem, each naming its field under path.
func (c *Config) Validate(path string) []error {
	var errs []error
	if c.Smarthost == "" {
		errs = append(errs, fmt.Errorf("%s.smarthost: required (host:port, e.g. smtp.example.com:587)", path))
	} else if host, p, err := net.SplitHostPort(c.Smarthost); err != nil || host == "" {
		errs = append(errs, fmt.Errorf("%s.smarthost: %q is not host:port", path, c.Smarthost))
	} else if port, err := strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
		errs = append(errs, fmt.Errorf("%s.smarthost: port %q is not a number between 1 and 65535", path, p))
	}
	if c.From == "" {
		errs = append(errs, fmt.Errorf("%s.from: required", path))
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("%s.from: %q is not an e-mail address", path, c.From))
	}
	if len(c.To) == 0 {
		errs = append(errs, fmt.Errorf("%s.to: at least one recipient", path))
	}
	for i, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil {
			errs = append(errs, fmt.Errorf("%s.to[%d]: %q is not an e-mail address", path, i, to))
		}
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSImplicit:
	default:
		errs = append(errs, fmt.Errorf("%s.tls: %q is not one of starttls, implicit", path, c.TLS))
	}
	if err := cfgcheck.OneSource(path, "password", c.Password, c.PasswordFile, c.PasswordCredential); err != nil {
		errs = append(errs, err)
	}
	pw := cfgcheck.SecretSet(c.Password, c.PasswordFile, c.PasswordCredential)
	switch {
	case pw && c.Username == "":
		errs = append(errs, fmt.Errorf("%s.username: required when password is set", path))
	case !pw && c.Username != "":
		errs = append(errs, fmt.Errorf("%s.password: required when username is set (set password, password_file or password_credential)", path))
	}
	return errs
}
