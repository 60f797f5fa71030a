package reliability

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/e2etest"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }

// daemon drives the real tokenhealth binary: enroll through the CLI, run
// the daemon on the wall clock, read it over its socket, kill it. The
// process handling is e2etest's; this adds the tenant mixes and verdicts.
type daemon struct {
	h     *e2etest.Harness
	t     *testing.T
	dir   string
	cfg   string
	sock  string
	state string
	sim   *entrasim.Server
	mixOf map[string]int
	hook  *fakeWebhook
}

func newDaemon(t *testing.T, sc *entrasim.Scenario, mixOf map[string]int, stateDir string) *daemon {
	t.Helper()
	if testing.Short() {
		t.Skip("reliability test with real processes")
	}
	dir := shortTempDir(t)
	sim := e2etest.Simulator(t, sc, e2etest.SimulatorOptions{SigningKeyBits: 1024})
	hook := &fakeWebhook{Receiver: e2etest.NewReceiver(t, nil)}
	c := e2etest.Config{Dir: dir, StateDir: stateDir, Global: "probe_interval: 1m\nprobe_timeout: 10s", Tenants: e2etest.SimTenants(sim),
		Receivers: fmt.Sprintf("receivers:\n  - name: hook\n    webhook: {url: %q}\nroutes:\n  - receiver: hook\n", hook.URL)}
	d := &daemon{t: t, dir: dir, cfg: filepath.Join(dir, "config.yaml"), sock: c.Socket(), state: c.StatePath(),
		sim: sim, mixOf: mixOf, hook: hook}
	d.h = e2etest.New(t, e2etest.Binary(t), d.cfg, d.sock, sim.Addr())
	if err := sim.WriteCAFile(c.CAFile()); err != nil {
		t.Fatal(err)
	}
	c.Write(t, d.cfg)
	return d
}

// cli runs the binary to completion.
func (d *daemon) cli(args ...string) (string, int) {
	d.t.Helper()
	return d.h.CLI(args...)
}

func (d *daemon) enrollAll() {
	d.t.Helper()
	for _, tn := range d.sim.Tenants() {
		if out, code := d.cli("enroll", tn.ID, "--config", d.cfg); code != 0 {
			d.t.Fatalf("enroll %s: exit %d\n%s", tn.ID, code, out)
		}
	}
}

// start runs the daemon and waits until its socket answers.
func (d *daemon) start() {
	d.t.Helper()
	d.h.Start()
}

// startExpectingFailure runs the daemon and returns its output once it
// exits, which it must.
func (d *daemon) startExpectingFailure() (string, int) {
	d.t.Helper()
	return d.h.StartExpectingFailure()
}

// kill sends SIGKILL and reaps the process.
func (d *daemon) kill() {
	d.t.Helper()
	d.h.Kill()
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	d.h.Stop()
}

func (d *daemon) status() (localapi.StatusResponse, error) { return d.h.Status() }

func (d *daemon) states() map[string]health.State {
	out := map[string]health.State{}
	st, err := d.status()
	if err != nil {
		return out
	}
	for _, ts := range st.Tenants {
		out[ts.ID] = ts.State
	}
	return out
}

// settle waits until no tenant is pending and no state changed for ten
// seconds, then returns the states.
func (d *daemon) settle(limit time.Duration) map[string]health.State {
	d.t.Helper()
	return d.settleQuiet(limit, 10*time.Second)
}

// settleQuiet is settle with a chosen quiet period, for a test that has
// already waited for the events its verdicts depend on.
func (d *daemon) settleQuiet(limit, quiet time.Duration) map[string]health.State {
	d.t.Helper()
	var last map[string]health.State
	stableSince := time.Now()
	d.eventually("every tenant settled", limit, func() bool {
		st := d.states()
		for _, s := range st {
			if s == health.StatePending {
				return false
			}
		}
		if len(st) != len(d.mixOf) || !maps.Equal(st, last) {
			last, stableSince = st, time.Now()
			return false
		}
		return time.Since(stableSince) > quiet
	})
	return last
}

func (d *daemon) eventually(what string, limit time.Duration, cond func() bool) {
	d.t.Helper()
	d.h.Eventually(what, limit, cond)
}

// fakeWebhook receives the webhook integration's JSON: every message has
// an ID (the idempotency key) and its alerts' keys.
type fakeWebhook struct{ *e2etest.Receiver }

type webhookMessage struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	Alerts []struct {
		Key    string `json:"key"`
		Status string `json:"status"`
	} `json:"alerts"`
}

// deliveries counts, per "status key", the distinct messages that carried
// it, and how many deliveries repeated an ID already received. A body that
// is not a webhook message fails the test.
func (h *fakeWebhook) deliveries(t *testing.T) (perAlert map[string]int, redelivered int) {
	t.Helper()
	perAlert = map[string]int{}
	seen := map[string]bool{}
	for _, q := range h.Requests() {
		var m webhookMessage
		if err := json.Unmarshal(q.Body, &m); err != nil {
			t.Errorf("the webhook received a body that is not JSON: %v: %.200s", err, q.Body)
			continue
		}
		if seen[m.ID] {
			redelivered++
			continue
		}
		seen[m.ID] = true
		if m.Reason == "repeat" {
			continue
		}
		for _, a := range m.Alerts {
			perAlert[a.Status+" "+a.Key]++
		}
	}
	return perAlert, redelivered
}
