package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/e2etest"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }

// e2e drives the built tokenhealth binary as an administrator would:
// enroll, run the daemon, read it over its socket, reload, stop, restart.
type e2e struct {
	*e2etest.Harness
	t     *testing.T
	dir   string
	cfg   string
	sock  string
	sim   *entrasim.Server
	slack *e2etest.Receiver
}

const (
	tenantHealthy = "11111111-1111-4111-8111-111111111111"
	tenantSIF     = "22222222-2222-4222-8222-222222222222"
	tenantEvery   = "33333333-3333-4333-8333-333333333333"
)

func newE2E(t *testing.T) *e2e {
	if testing.Short() {
		t.Skip("end-to-end test with real processes")
	}
	dir := t.TempDir()
	sim := e2etest.Simulator(t, entrasim.DemoScenario(), e2etest.SimulatorOptions{})
	layout := e2etest.Config{Dir: dir}
	e := &e2e{t: t, dir: dir, cfg: filepath.Join(dir, "config.yaml"), sock: layout.Socket(),
		sim: sim, slack: e2etest.NewReceiver(t, e2etest.SlackOK)}
	e.Harness = e2etest.New(t, e2etest.Binary(t), e.cfg, e.sock, sim.Addr())
	if err := sim.WriteCAFile(layout.CAFile()); err != nil {
		t.Fatal(err)
	}
	e.writeConfig(tenantHealthy, tenantSIF)
	return e
}

func (e *e2e) writeConfig(tenants ...string) {
	e2etest.Config{
		Dir:     e.dir,
		Tenants: e2etest.SimTenants(e.sim, tenants...),
		Receivers: `receivers:
  - name: ops
    slack: {bot_token: xoxb-e2e-test-token, channel: C1, api_url: "` + e.slack.URL + `/api/"}
routes:
  - receiver: ops
`,
	}.Write(e.t, e.cfg)
}

// slackSaid reports whether a message posted to Slack (its text or its
// blocks) contains substr.
func (e *e2e) slackSaid(substr string) bool {
	return e.slack.Any(func(q e2etest.Request) bool {
		f := q.Form()
		return strings.Contains(f.Get("text")+"\n"+f.Get("blocks"), substr)
	})
}

func (e *e2e) status() localapi.StatusResponse {
	e.t.Helper()
	out, code := e.CLI("status", "--json", "--socket", e.sock)
	var st localapi.StatusResponse
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		e.t.Fatalf("status --json (exit %d): %v\n%s", code, err, out)
	}
	return st
}

func tenantByID(st localapi.StatusResponse, id string) *health.TenantStatus {
	for i := range st.Tenants {
		if st.Tenants[i].ID == id {
			return &st.Tenants[i]
		}
	}
	return nil
}

func TestEndToEndDaemon(t *testing.T) {
	e := newE2E(t)
	for _, id := range []string{tenantHealthy, tenantSIF} {
		if out, code := e.CLI("enroll", id, "--config", e.cfg); code != 0 {
			t.Fatalf("enroll %s: exit %d\n%s", id, code, out)
		}
	}
	e.Start()

	// check goes through the daemon, which holds the state file.
	out, code := e.CLI("check", tenantSIF, "--config", e.cfg)
	if code != 0 || !strings.Contains(out, "probed by the daemon") {
		t.Fatalf("check through the daemon: exit %d\n%s", code, out)
	}

	// The report-only MFA policy of the sign-in-frequency tenant is a
	// warning that reaches Slack, with its policy name.
	e.Eventually("the report-only risk reaches Slack", 60*time.Second, func() bool {
		return e.slackSaid("Report-only: require MFA for all users")
	})
	st := e.status()
	if len(st.Tenants) != 2 {
		t.Fatalf("status lists %d tenants, want 2", len(st.Tenants))
	}
	sif := tenantByID(st, tenantSIF)
	if sif == nil || sif.State != health.StateWarning || sif.PredictedBreak.IsZero() {
		t.Fatalf("sign-in frequency tenant: %+v", sif)
	}
	if _, code := e.CLI("status", "--socket", e.sock); code != 1 {
		t.Fatalf("status exit %d with a warning tenant, want 1", code)
	}
	out, code = e.CLI("explain", tenantSIF, "--socket", e.sock)
	if code != 0 || !strings.Contains(out, "Sign-in frequency 7 days") || !strings.Contains(out, "What to do:") {
		t.Fatalf("explain: exit %d\n%s", code, out)
	}

	// SIGHUP with a new tenant adds it without losing the others' state.
	e.writeConfig(tenantHealthy, tenantSIF, tenantEvery)
	e.Signal(syscall.SIGHUP)
	e.Eventually("the reloaded tenant appears", 30*time.Second, func() bool { return len(e.status().Tenants) == 3 })
	if got := tenantByID(e.status(), tenantSIF); got == nil || got.State != health.StateWarning {
		t.Fatalf("reload lost the SIF tenant's state: %+v", got)
	}

	// An invalid config is refused and the daemon keeps running on the old one.
	if err := os.WriteFile(e.cfg, []byte("global: {probe_interval: 5s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Signal(syscall.SIGHUP)
	e.Eventually("the refused reload is reported", 30*time.Second, func() bool {
		s := e.status()
		return s.Agent.ConfigError != "" && len(s.Tenants) == 3
	})

	e.Stop()
	if _, err := os.Stat(e.sock); err == nil {
		// a stale socket is fine; the next start must replace it
		t.Log("socket file left behind after SIGTERM; restart replaces it")
	}
	if out, code := e.CLI("status", "--socket", e.sock); code != exitDaemonDown || !strings.Contains(out, e.sock) {
		t.Fatalf("status with the daemon stopped: exit %d\n%s", code, out)
	}

	// Restart on the same state file: verdicts survive.
	e.writeConfig(tenantHealthy, tenantSIF, tenantEvery)
	e.Start()
	got := tenantByID(e.status(), tenantSIF)
	if got == nil || got.State != health.StateWarning || len(got.Findings) == 0 {
		t.Fatalf("after restart the SIF tenant is %+v, want its warning kept", got)
	}
	if strings.Contains(e.Logs.String(), "xoxb-e2e-test-token") {
		t.Fatal("the Slack token appears in the daemon's log")
	}
	e.Stop()
}
