// Package demo runs the real agent against the embedded simulated tenants
// on a compressed virtual clock: `tokenhealth demo`. Nothing here stands in
// for the product: it writes a real configuration file, enrolls every
// tenant through the device code flow with the real MSAL client, and starts
// the same agent as `tokenhealth run`, with production host names
// redirected to the simulator.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tokenhealth/tokenhealth/internal/agent"
	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/internal/transport"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// Options configure a demo environment.
type Options struct {
	// Dir holds the generated configuration, CA and state; it must exist.
	Dir string
	// Speed is virtual seconds per real second once the agent runs.
	Speed float64
	// ReceiversFrom is an optional configuration file whose receivers and
	// routes also get the demo's alerts.
	ReceiversFrom string
	// Alerts receives the console rendering of every alert.
	Alerts io.Writer
	// Progress receives one line per setup step.
	Progress io.Writer
	Logger   *slog.Logger
}

// Env is a running simulator and a ready (not yet running) agent.
type Env struct {
	Sim        *entrasim.Server
	Clock      *clock.Virtual
	Agent      *agent.Agent
	ConfigPath string
	Speed      float64
}

// Setup starts the simulated tenants, writes the configuration, enrolls
// every tenant and builds the agent. Virtual time stands still until Start.
func Setup(ctx context.Context, o Options) (*Env, error) {
	sc := entrasim.DemoScenario()
	start, err := time.Parse(time.RFC3339, sc.Start)
	if err != nil {
		start = entrasim.DefaultStart
	}
	vclock := clock.NewVirtual(start, 0)
	sim, err := entrasim.New(entrasim.Options{Scenario: sc, Clock: vclock, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	env := &Env{Sim: sim, Clock: vclock, Speed: o.Speed}
	fail := func(err error) (*Env, error) {
		sim.Close()
		return nil, err
	}
	caFile := filepath.Join(o.Dir, "simulator-ca.pem")
	if err := sim.WriteCAFile(caFile); err != nil {
		return fail(err)
	}
	fmt.Fprintf(o.Progress, "simulated tenants listening on %s (CA %s)\n", sim.Addr(), caFile)

	env.ConfigPath = filepath.Join(o.Dir, "config.yaml")
	doc, err := configDoc(o, sim, caFile)
	if err != nil {
		return fail(err)
	}
	if err := os.WriteFile(env.ConfigPath, doc, 0o600); err != nil {
		return fail(err)
	}
	cfg, err := config.Load(env.ConfigPath)
	if err != nil {
		return fail(fmt.Errorf("the generated demo configuration is invalid: %w", err))
	}
	dial := transport.RedirectDialer(sim.Addr())
	if err := enrollAll(ctx, cfg, vclock, dial, o.Progress); err != nil {
		return fail(err)
	}
	env.Agent, err = agent.New(agent.Options{
		ConfigPath: env.ConfigPath, Config: cfg, Clock: vclock, Dial: dial, Logger: o.Logger, Version: "demo",
		ExtraReceivers: []notify.Receiver{{Name: "demo-console", Type: "console", Integration: NewConsole(o.Alerts)}},
	})
	if err != nil {
		return fail(err)
	}
	return env, nil
}

// Start lets virtual time run at the demo speed.
func (e *Env) Start() { e.Clock.SetSpeed(e.Speed) }

// Close stops the simulator.
func (e *Env) Close() { e.Sim.Close() }

// configDoc is the demo's configuration: production host names (the
// transport redirects them), the simulator's CA, short intervals that the
// virtual clock makes shorter still, and a socket inside the demo dir.
func configDoc(o Options, sim *entrasim.Server, caFile string) ([]byte, error) {
	var tenants []map[string]any
	clientApp := ""
	for _, t := range sim.Summaries() {
		upn := ""
		for _, u := range t.Users {
			if strings.HasPrefix(u.UserPrincipalName, "svc-sync@") {
				upn = u.UserPrincipalName
			}
		}
		if len(t.ClientApps) > 0 {
			clientApp = t.ClientApps[0].AppID
		}
		tenants = append(tenants, map[string]any{
			"id": t.ID, "name": t.DisplayName, "service_account": upn, "tags": []string{"demo"},
		})
	}
	doc := map[string]any{
		"global": map[string]any{
			"state_dir":               filepath.Join(o.Dir, "state"),
			"state_key_file":          filepath.Join(o.Dir, "state.key"),
			"socket":                  filepath.Join(o.Dir, "tokenhealth.sock"),
			"socket_group":            "",
			"metrics_listen":          "",
			"cloud":                   "public",
			"ca_bundle_file":          caFile,
			"client_app_id":           clientApp,
			"probe_interval":          "15m",
			"policy_refresh_interval": "30m",
			"signin_poll_interval":    "15m",
			"alert_warning_lead":      "72h",
			"alert_critical_lead":     "24h",
			"group_window":            "1m",
			"repeat_interval":         "24h",
		},
		"tenants": tenants,
	}
	if o.ReceiversFrom != "" {
		raw, err := os.ReadFile(o.ReceiversFrom)
		if err != nil {
			return nil, err
		}
		var user map[string]any
		if err := yaml.Unmarshal(raw, &user); err != nil {
			return nil, fmt.Errorf("%s: %w", o.ReceiversFrom, err)
		}
		doc["receivers"], doc["routes"] = user["receivers"], user["routes"]
	}
	return yaml.Marshal(doc)
}

// enrollAll runs the device code flow for every tenant with the real MSAL
// client; the simulated tenants approve it as their service account.
func enrollAll(ctx context.Context, cfg *config.Config, clk clock.Clock, dial func(ctx context.Context, network, addr string) (net.Conn, error), progress io.Writer) error {
	hc, err := transport.New(transport.Options{CABundleFile: cfg.Global.CABundleFile, DialContext: dial})
	if err != nil {
		return err
	}
	db, err := store.Open(agent.StatePath(cfg), store.Options{KeyFile: cfg.Global.StateKeyFile, Clock: clk})
	if err != nil {
		return err
	}
	defer db.Close()
	enr := &probe.Enroller{Store: db, HTTP: hc, Clock: clk}
	for _, t := range cfg.Tenants {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		e, err := enr.DeviceCode(ctx, probe.TargetFor(&cfg.Global, &t), io.Discard)
		cancel()
		if err != nil {
			return fmt.Errorf("enrolling %s: %w", t.Name, err)
		}
		mfa := "no MFA claim"
		if e.TokenHasMFA {
			mfa = "MFA claim"
		}
		fmt.Fprintf(progress, "enrolled %-42s as %s (device code, %s)\n", t.Name, e.Username, mfa)
	}
	return nil
}
