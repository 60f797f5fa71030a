// Package cfgcheck holds the validation rules every receiver configuration
// shares (secret triples, receiver URLs), so that the same mistake gets the
// same message whichever integration it is made in.
package cfgcheck

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/tokenhealth/tokenhealth/internal/secret"
)

// SecretSet reports whether a secret triple has a value or a source. The
// loader resolves x_file / x_credential into x before use, but Validate may
// run before that, so a configured source counts as set.
func SecretSet(v secret.Secret, file, credential string) bool {
	return !v.IsZero() || file != "" || credential != ""
}

// RequireSecret returns an error naming path.field when none of the triple is set.
func RequireSecret(path, field string, v secret.Secret, file, credential string) error {
	if SecretSet(v, file, credential) {
		return nil
	}
	return fmt.Errorf("%s.%s: required (set %s, %s_file or %s_credential)", path, field, field, field, field)
}

// OneSource returns an error when more than one of x, x_file, x_credential is set.
func OneSource(path, field string, v secret.Secret, file, credential string) error {
	n := 0
	for _, set := range []bool{!v.IsZero(), file != "", credential != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("%s.%s: set only one of %s, %s_file, %s_credential", path, field, field, field, field)
	}
	return nil
}

// CheckURL validates a receiver URL: absolute http(s) with a host, and plain
// http only towards a loopback host (anything else would send alert content
// and credentials in the clear). The URL itself may be a secret (a webhook
// URL carries its token), so it never appears in the message.
func CheckURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: not a valid URL", field)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%s: must be an absolute http:// or https:// URL", field)
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return fmt.Errorf("%s: plain http:// is refused for non-loopback host %q; use https://", field, u.Hostname())
	}
	return nil
}

// IsLoopback reports whether host names the local machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
