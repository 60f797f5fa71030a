package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
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

// daemon drives the real tokenhealth binary: enroll through the CLI, run
// the daemon on the wall clock, read it over its socket, kill it.
type daemon struct {
	t     *testing.T
	bin   string
	dir   string
	cfg   string
	sock  string
	state string
	sim   *entrasim.Server
	mixOf map[string]int
	hook  *fakeWebhook
	cmd   *exec.Cmd
	logs  *lockedBuffer
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// tokenhealthBinary builds cmd/agent once per test process.
func tokenhealthBinary(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "thbin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "tokenhealth")
		out, err := exec.Command("go", "build", "-o", builtBin, "../../cmd/agent").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func newDaemon(t *testing.T, sc *entrasim.Scenario, mixOf map[string]int, stateDir string) *daemon {
	t.Helper()
	if testing.Short() {
		t.Skip("reliability test with real processes")
	}
	dir := shortTempDir(t)
	if stateDir == "" {
		stateDir = filepath.Join(dir, "state")
	}
	now := time.Now().UTC().Truncate(time.Second)
	sc.Start = now.Format(time.RFC3339) // the daemon runs on the wall clock
	sim, err := entrasim.New(entrasim.Options{Scenario: sc, Clock: clock.NewVirtual(now, 1), SigningKeyBits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	d := &daemon{t: t, bin: tokenhealthBinary(t), dir: dir, cfg: filepath.Join(dir, "config.yaml"), sock: filepath.Join(dir, "th.sock"),
		state: filepath.Join(stateDir, "state.db"), sim: sim, mixOf: mixOf, hook: newFakeWebhook(t)}
	caFile := filepath.Join(dir, "ca.pem")
	if err := sim.WriteCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `global:
  state_dir: %s
  state_key_file: %s
  socket: %s
  socket_group: ""
  metrics_listen: ""
  ca_bundle_file: %s
  client_app_id: %s
  probe_interval: 1m
  probe_timeout: 10s
  group_window: 1s
tenants:
`, stateDir, filepath.Join(dir, "state.key"), d.sock, caFile, entrasim.CanaryAppID)
	for _, tn := range sim.Tenants() {
		fmt.Fprintf(&b, "  - {id: %s, name: %q, service_account: svc-sync@%s}\n", tn.ID, tn.DisplayName, tn.Domain)
	}
	fmt.Fprintf(&b, "receivers:\n  - name: hook\n    webhook: {url: %q}\nroutes:\n  - receiver: hook\n", d.hook.srv.URL)
	if err := os.WriteFile(d.cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// cli runs the binary to completion.
func (d *daemon) cli(args ...string) (string, int) {
	d.t.Helper()
	cmd := exec.Command(d.bin, args...)
	cmd.Env = append(os.Environ(), "TOKENHEALTH_CONNECT_TO="+d.sim.Addr(), "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		d.t.Fatalf("running %v: %v", args, err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
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
	d.logs = &lockedBuffer{}
	d.cmd = exec.Command(d.bin, "run", "--config", d.cfg)
	d.cmd.Env = append(os.Environ(), "TOKENHEALTH_CONNECT_TO="+d.sim.Addr())
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	cmd := d.cmd
	d.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	d.eventually("the daemon answers on its socket", 30*time.Second, func() bool {
		_, err := localapi.NewClient(d.sock).Status(context.Background())
		return err == nil
	})
}

// startExpectingFailure runs the daemon and returns its output once it
// exits; it must exit within 30 s.
func (d *daemon) startExpectingFailure() (string, int) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, "run", "--config", d.cfg)
	cmd.Env = append(os.Environ(), "TOKENHEALTH_CONNECT_TO="+d.sim.Addr())
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		d.t.Fatalf("the daemon kept running on a damaged state file:\n%s", out)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// kill sends SIGKILL and reaps the process.
func (d *daemon) kill() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		d.t.Fatal(err)
	}
	_ = d.cmd.Wait()
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			d.t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, d.logs.tail(30))
		}
	case <-time.After(30 * time.Second):
		d.t.Fatalf("daemon did not stop within 30 s of SIGTERM")
	}
}

func (d *daemon) status() (localapi.StatusResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return localapi.NewClient(d.sock).Status(ctx)
}

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
		return time.Since(stableSince) > 10*time.Second
	})
	return last
}

func (d *daemon) eventually(what string, limit time.Duration, cond func() bool) {
	d.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tail := ""
			if d.logs != nil {
				tail = d.logs.tail(40)
			}
			d.t.Fatalf("timed out after %s waiting until %s\ndaemon log tail:\n%s", limit, what, tail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fakeWebhook receives the webhook integration's JSON: every message has
// an ID (the idempotency key) and its alerts' keys.
type fakeWebhook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	down bool
	msgs []webhookMessage
}

type webhookMessage struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	Alerts []struct {
		Key    string `json:"key"`
		Status string `json:"status"`
	} `json:"alerts"`
}

func newFakeWebhook(t *testing.T) *fakeWebhook {
	h := &fakeWebhook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var m webhookMessage
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.msgs = append(h.msgs, m)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// deliveries counts, per "status key", the distinct messages that carried
// it, and how many deliveries repeated an ID already received.
func (h *fakeWebhook) deliveries() (perAlert map[string]int, redelivered int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	perAlert = map[string]int{}
	seen := map[string]bool{}
	for _, m := range h.msgs {
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
