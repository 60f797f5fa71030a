package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// e2e drives the built tokenhealth binary as an administrator would:
// enroll, run the daemon, read it over its socket, reload, stop, restart.
type e2e struct {
	t      *testing.T
	bin    string
	dir    string
	cfg    string
	sock   string
	sim    *entrasim.Server
	slack  *fakeSlack
	daemon *exec.Cmd
	logs   *syncBuffer
}

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeSlack stands in for slack.com's Web API (it cannot be reached here).
type fakeSlack struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []string
}

func newFakeSlack(t *testing.T) *fakeSlack {
	fs := &fakeSlack{}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		fs.mu.Lock()
		fs.msgs = append(fs.msgs, r.Form.Get("text")+"\n"+r.Form.Get("blocks"))
		fs.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"channel":"C1","ts":"%d.000100"}`, time.Now().UnixNano())
	}))
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fakeSlack) find(substr string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, m := range fs.msgs {
		if strings.Contains(m, substr) {
			return true
		}
	}
	return false
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
	bin := filepath.Join(dir, "tokenhealth")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building tokenhealth: %v\n%s", err, out)
	}
	sc := entrasim.DemoScenario()
	now := time.Now().UTC().Truncate(time.Second)
	sc.Start = now.Format(time.RFC3339) // the daemon runs on the wall clock
	sim, err := entrasim.New(entrasim.Options{Scenario: sc, Clock: clock.NewVirtual(now, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	e := &e2e{t: t, bin: bin, dir: dir, cfg: filepath.Join(dir, "config.yaml"), sock: filepath.Join(dir, "th.sock"),
		sim: sim, slack: newFakeSlack(t)}
	if err := sim.WriteCAFile(filepath.Join(dir, "ca.pem")); err != nil {
		t.Fatal(err)
	}
	e.writeConfig(tenantHealthy, tenantSIF)
	return e
}

func (e *e2e) writeConfig(tenants ...string) {
	var b strings.Builder
	fmt.Fprintf(&b, `global:
  state_dir: %s
  state_key_file: %s
  socket: %s
  socket_group: ""
  metrics_listen: ""
  ca_bundle_file: %s
  client_app_id: 7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b
  group_window: 1s
tenants:
`, filepath.Join(e.dir, "state"), filepath.Join(e.dir, "state.key"), e.sock, filepath.Join(e.dir, "ca.pem"))
	for _, id := range tenants {
		t := e.sim.Tenant(id)
		fmt.Fprintf(&b, "  - {id: %s, name: %q, service_account: svc-sync@%s}\n", id, t.DisplayName, t.Domain)
	}
	fmt.Fprintf(&b, `receivers:
  - name: ops
    slack: {bot_token: xoxb-e2e-test-token, channel: C1, api_url: "%s/api/"}
routes:
  - receiver: ops
`, e.slack.srv.URL)
	if err := os.WriteFile(e.cfg, []byte(b.String()), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// cli runs the binary to completion and returns its output and status.
func (e *e2e) cli(args ...string) (string, int) {
	e.t.Helper()
	cmd := exec.Command(e.bin, args...)
	cmd.Env = append(os.Environ(), "TOKENHEALTH_CONNECT_TO="+e.sim.Addr(), "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		e.t.Fatalf("running %v: %v", args, err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

func (e *e2e) startDaemon() {
	e.t.Helper()
	e.logs = &syncBuffer{}
	e.daemon = exec.Command(e.bin, "run", "--config", e.cfg)
	e.daemon.Env = append(os.Environ(), "TOKENHEALTH_CONNECT_TO="+e.sim.Addr())
	e.daemon.Stdout, e.daemon.Stderr = e.logs, e.logs
	if err := e.daemon.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if e.daemon.ProcessState == nil {
			_ = e.daemon.Process.Kill()
			_ = e.daemon.Wait()
		}
	})
	e.eventually("the daemon answers on its socket", 30*time.Second, func() bool {
		_, err := localapi.NewClient(e.sock).Status(context.Background())
		return err == nil
	})
}

func (e *e2e) stopDaemon() {
	e.t.Helper()
	if err := e.daemon.Process.Signal(syscall.SIGTERM); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.daemon.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			e.t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, e.logs)
		}
	case <-time.After(30 * time.Second):
		e.t.Fatalf("daemon did not stop within 30 s of SIGTERM\n%s", e.logs)
	}
}

func (e *e2e) status() localapi.StatusResponse {
	e.t.Helper()
	out, code := e.cli("status", "--json", "--socket", e.sock)
	var st localapi.StatusResponse
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		e.t.Fatalf("status --json (exit %d): %v\n%s", code, err, out)
	}
	return st
}

func (e *e2e) eventually(what string, limit time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("timed out after %s waiting until %s\ndaemon log:\n%s", limit, what, e.logs)
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
		if out, code := e.cli("enroll", id, "--config", e.cfg); code != 0 {
			t.Fatalf("enroll %s: exit %d\n%s", id, code, out)
		}
	}
	e.startDaemon()

	// check goes through the daemon, which holds the state file.
	out, code := e.cli("check", tenantSIF, "--config", e.cfg)
	if code != 0 || !strings.Contains(out, "probed by the daemon") {
		t.Fatalf("check through the daemon: exit %d\n%s", code, out)
	}

	// The report-only MFA policy of the sign-in-frequency tenant is a
	// warning that reaches Slack, with its policy name.
	e.eventually("the report-only risk reaches Slack", 60*time.Second, func() bool {
		return e.slack.find("Report-only: require MFA for all users")
	})
	st := e.status()
	if len(st.Tenants) != 2 {
		t.Fatalf("status lists %d tenants, want 2", len(st.Tenants))
	}
	sif := tenantByID(st, tenantSIF)
	if sif == nil || sif.State != health.StateWarning || sif.PredictedBreak.IsZero() {
		t.Fatalf("sign-in frequency tenant: %+v", sif)
	}
	if _, code := e.cli("status", "--socket", e.sock); code != 1 {
		t.Fatalf("status exit %d with a warning tenant, want 1", code)
	}
	out, code = e.cli("explain", tenantSIF, "--socket", e.sock)
	if code != 0 || !strings.Contains(out, "Sign-in frequency 7 days") || !strings.Contains(out, "What to do:") {
		t.Fatalf("explain: exit %d\n%s", code, out)
	}

	// SIGHUP with a new tenant adds it without losing the others' state.
	e.writeConfig(tenantHealthy, tenantSIF, tenantEvery)
	if err := e.daemon.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	e.eventually("the reloaded tenant appears", 30*time.Second, func() bool { return len(e.status().Tenants) == 3 })
	if got := tenantByID(e.status(), tenantSIF); got == nil || got.State != health.StateWarning {
		t.Fatalf("reload lost the SIF tenant's state: %+v", got)
	}

	// An invalid config is refused and the daemon keeps running on the old one.
	if err := os.WriteFile(e.cfg, []byte("global: {probe_interval: 5s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = e.daemon.Process.Signal(syscall.SIGHUP)
	e.eventually("the refused reload is reported", 30*time.Second, func() bool {
		s := e.status()
		return s.Agent.ConfigError != "" && len(s.Tenants) == 3
	})

	e.stopDaemon()
	if _, err := os.Stat(e.sock); err == nil {
		// a stale socket is fine; the next start must replace it
		t.Log("socket file left behind after SIGTERM; restart replaces it")
	}
	if out, code := e.cli("status", "--socket", e.sock); code != exitDaemonDown || !strings.Contains(out, e.sock) {
		t.Fatalf("status with the daemon stopped: exit %d\n%s", code, out)
	}

	// Restart on the same state file: verdicts survive.
	e.writeConfig(tenantHealthy, tenantSIF, tenantEvery)
	e.startDaemon()
	got := tenantByID(e.status(), tenantSIF)
	if got == nil || got.State != health.StateWarning || len(got.Findings) == 0 {
		t.Fatalf("after restart the SIF tenant is %+v, want its warning kept", got)
	}
	if strings.Contains(e.logs.String(), "xoxb-e2e-test-token") {
		t.Fatal("the Slack token appears in the daemon's log")
	}
	e.stopDaemon()
}
