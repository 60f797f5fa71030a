package e2etest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
)

// Config is the daemon configuration a test writes. The paths default to
// files in Dir, the layout every end-to-end test uses.
type Config struct {
	Dir           string // holds state/, state.key, th.sock and ca.pem by default
	StateDir      string // default Dir/state
	MetricsListen string // "" turns the metrics endpoint off
	ClientAppID   string // default entrasim.CanaryAppID
	GroupWindow   string // default 1s: alerts leave quickly
	// Global holds extra lines of the global section, e.g.
	// "probe_interval: 1m\nlog_level: debug".
	Global  string
	Tenants []Tenant
	// Receivers is the YAML of the receivers and routes sections.
	Receivers string
}

// Tenant is one entry of the tenants list.
type Tenant struct {
	ID, Name, ServiceAccount string
	// Extra holds further flow-style fields, e.g.
	// "client_type: confidential, client_secret_file: /path".
	Extra string
}

// SimTenants lists the simulator's tenants with the ids given (all when
// none are), each watched through its svc-sync service account.
func SimTenants(sim *entrasim.Server, ids ...string) []Tenant {
	if len(ids) == 0 {
		for _, tn := range sim.Tenants() {
			ids = append(ids, tn.ID)
		}
	}
	out := make([]Tenant, 0, len(ids))
	for _, id := range ids {
		tn := sim.Tenant(id)
		out = append(out, Tenant{ID: id, Name: tn.DisplayName, ServiceAccount: "svc-sync@" + tn.Domain})
	}
	return out
}

// Socket is the daemon's socket path in the configuration's layout.
func (c Config) Socket() string { return filepath.Join(c.Dir, "th.sock") }

// CAFile is where the simulator's (or a test front's) CA certificate goes.
func (c Config) CAFile() string { return filepath.Join(c.Dir, "ca.pem") }

// StateKeyFile is the state encryption key's path.
func (c Config) StateKeyFile() string { return filepath.Join(c.Dir, "state.key") }

// StatePath is the state file inside the state directory.
func (c Config) StatePath() string { return filepath.Join(c.stateDir(), "state.db") }

func (c Config) stateDir() string {
	if c.StateDir != "" {
		return c.StateDir
	}
	return filepath.Join(c.Dir, "state")
}

// YAML renders the configuration file.
func (c Config) YAML() string {
	appID, window := c.ClientAppID, c.GroupWindow
	if appID == "" {
		appID = entrasim.CanaryAppID
	}
	if window == "" {
		window = "1s"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `global:
  state_dir: %s
  state_key_file: %s
  socket: %s
  socket_group: ""
  metrics_listen: %q
  ca_bundle_file: %s
  client_app_id: %s
  group_window: %s
`, c.stateDir(), c.StateKeyFile(), c.Socket(), c.MetricsListen, c.CAFile(), appID, window)
	for _, line := range strings.Split(strings.TrimSpace(c.Global), "\n") {
		if line != "" {
			b.WriteString("  " + strings.TrimSpace(line) + "\n")
		}
	}
	b.WriteString("tenants:\n")
	for _, tn := range c.Tenants {
		fmt.Fprintf(&b, "  - {id: %s, name: %q, service_account: %s", tn.ID, tn.Name, tn.ServiceAccount)
		if tn.Extra != "" {
			b.WriteString(", " + tn.Extra)
		}
		b.WriteString("}\n")
	}
	b.WriteString(c.Receivers)
	return b.String()
}

// Write writes the configuration file to path (mode 0600, as it may hold
// receiver secrets).
func (c Config) Write(t testing.TB, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(c.YAML()), 0o600); err != nil {
		t.Fatal(err)
	}
}
