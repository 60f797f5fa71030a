package config

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Summary is the one line `config check` prints on success, e.g.
// "config OK: 12 tenants (3 from tenants.d), 2 receivers, 3 routes, probe every 15m".
// It holds counts only, never a value that could be a secret.
func (c *Config) Summary() string {
	fromDir := 0
	for i := range c.Tenants {
		if c.Tenants[i].src != nil && c.Tenants[i].src.order > 0 {
			fromDir++
		}
	}
	tenants := plural(len(c.Tenants), "tenant")
	if fromDir > 0 {
		tenants += fmt.Sprintf(" (%d from tenants.d)", fromDir)
	}
	return fmt.Sprintf("config OK: %s, %s, %s, probe every %s",
		tenants, plural(len(c.Receivers), "receiver"), plural(len(c.Routes), "route"), c.Global.ProbeInterval)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// RedactedYAML renders the effective configuration (defaults applied,
// tenants.d merged) as YAML, every secret shown as <secret>: the Secret
// type marshals that way, so no code path here can reveal one.
func (c *Config) RedactedYAML() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
