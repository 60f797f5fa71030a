package secrets

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
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
)

// The secrets configured for the run. Each is distinctive so a hit cannot
// be a coincidence.
const (
	slackBotToken = "xoxb-111111111111-2222222222222-LeakCheckSlackBot"
	webhookHMAC   = "whsec-LeakCheck-hmac-7c1f0e9d2b"
	webhookBearer = "LeakCheck-bearer-5a8e3c1b9d"
	smtpPassword  = "LeakCheck-smtp-P4ssw0rd!"
	clientSecret  = "LeakCheck~client.secret-Q8w3E5r7T9"
)

const (
	tenantHealthy = "11111111-1111-4111-8111-111111111111"
	tenantSIF     = "22222222-2222-4222-8222-222222222222"
	tenantConf    = "33333333-3333-4333-8333-333333333333"
	clientAppID   = "7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b"
)

// run is one end-to-end leak check: the real binary, enrolled and running
// against the simulated tenants, every output it produces collected.
type run struct {
	t       *testing.T
	bin     string
	dir     string
	cfg     string
	sock    string
	metrics string
	front   *recordingFront
	slack   *capture
	webhook *capture
	// outputs collects every text the run produced, by where it came from.
	outputs map[string]*bytes.Buffer
}

func (r *run) out(name string) *bytes.Buffer {
	if r.outputs[name] == nil {
		r.outputs[name] = &bytes.Buffer{}
	}
	return r.outputs[name]
}

// cli runs the binary to completion; its stdout and stderr are collected.
func (r *run) cli(stdin string, args ...string) (string, int) {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Env = append(os.Environ(), "TOKENHEALTH_CONNECT_TO="+r.front.addr(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		r.t.Fatalf("running %v: %v", args, err)
	}
	fmt.Fprintf(r.out("cli "+args[0]), "$ tokenhealth %s\n%s\n", strings.Join(args, " "), out.String())
	return out.String(), cmd.ProcessState.ExitCode()
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newRun(t *testing.T) *run {
	if testing.Short() {
		t.Skip("end-to-end test with real processes")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tokenhealth")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/agent")
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
	t.Cleanup(func() { sim.Close() })
	renamePolicy(t, sim.Tenant(tenantSIF), "Report-only: require MFA for all users", hostilePolicyName)
	r := &run{
		t: t, bin: bin, dir: dir, cfg: filepath.Join(dir, "config.yaml"), sock: filepath.Join(dir, "th.sock"),
		metrics: freePort(t), front: newRecordingFront(t, sim),
		slack:   newCapture(t, `{"ok":true,"channel":"C1","ts":"{{TS}}"}`),
		webhook: newCapture(t, `{}`),
		outputs: map[string]*bytes.Buffer{},
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), r.front.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "client-secret"), []byte(clientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `global:
  state_dir: %s
  state_key_file: %s
  socket: %s
  socket_group: ""
  metrics_listen: %s
  ca_bundle_file: %s
  client_app_id: %s
  group_window: 1s
  log_level: debug
tenants:
`, filepath.Join(dir, "state"), filepath.Join(dir, "state.key"), r.sock, r.metrics, filepath.Join(dir, "ca.pem"), clientAppID)
	for _, id := range []string{tenantHealthy, tenantSIF} {
		st := sim.Tenant(id)
		fmt.Fprintf(&b, "  - {id: %s, name: %q, service_account: svc-sync@%s}\n", id, st.DisplayName, st.Domain)
	}
	// A confidential client whose secret the simulated app does not accept:
	// the secret is loaded, sent and refused, and the refusal is reported.
	conf := sim.Tenant(tenantConf)
	fmt.Fprintf(&b, "  - {id: %s, name: %q, service_account: svc-sync@%s, client_type: confidential, client_secret_file: %s}\n",
		tenantConf, conf.DisplayName, conf.Domain, filepath.Join(dir, "client-secret"))
	fmt.Fprintf(&b, `receivers:
  - name: ops-slack
    slack: {bot_token: %q, channel: C1, api_url: "%s/api/"}
  - name: ops-webhook
    webhook: {url: "%s/hook", hmac_secret: %q, bearer_token: %q}
  - name: ops-mail
    email: {smarthost: "127.0.0.1:1", from: th@example.com, to: [ops@example.com], username: th, password: %q, tls: starttls}
routes:
  - receiver: ops-slack
  - receiver: ops-webhook
  - receiver: ops-mail
`, slackBotToken, r.slack.srv.URL, r.webhook.srv.URL, webhookHMAC, webhookBearer, smtpPassword)
	if err := os.WriteFile(r.cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *run) eventually(what string, limit time.Duration, logs *syncBuffer, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.t.Fatalf("timed out after %s waiting until %s\ndaemon log:\n%s", limit, what, logs.String())
}

// get fetches a URL over the daemon's socket or TCP and collects the body.
func (r *run) get(name string, hc *http.Client, url string) {
	r.t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		r.t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	fmt.Fprintf(r.out(name), "GET %s\n%s\n", url, body)
}

// syncBuffer collects a running process's output while the test reads it.
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

func socketClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}, Timeout: 30 * time.Second}
}

// TestEndToEnd runs the binary once and checks the run two ways: no
// secret or token anywhere, and tenant-controlled text escaped everywhere.
func TestEndToEnd(t *testing.T) {
	r := newRun(t)
	r.exercise()
	t.Run("no secret or token leaks", r.checkLeaks)
	t.Run("tenant-controlled strings are escaped", r.checkEscaping)
}

// exercise drives the binary through everything an administrator and the
// daemon do, collecting every output.
func (r *run) exercise() {
	t := r.t

	for _, id := range []string{tenantHealthy, tenantSIF} {
		if out, code := r.cli("", "enroll", id, "--config", r.cfg); code != 0 {
			t.Fatalf("enroll %s: exit %d\n%s", id, code, out)
		}
	}
	// The confidential tenant's enrollment sends the client secret, which
	// the public simulated app refuses: the refusal is output too.
	if _, code := r.cli("", "enroll", tenantConf, "--config", r.cfg); code == 0 {
		t.Fatal("enrolling with a secret the app does not accept succeeded")
	}

	logs := &syncBuffer{}
	daemon := exec.Command(r.bin, "run", "--config", r.cfg)
	daemon.Env = append(os.Environ(), "TOKENHEALTH_CONNECT_TO="+r.front.addr())
	daemon.Stdout, daemon.Stderr = logs, logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if daemon.ProcessState == nil {
			_ = daemon.Process.Kill()
			_ = daemon.Wait()
		}
	})
	r.eventually("the daemon answers on its socket", 60*time.Second, logs, func() bool {
		_, err := localapi.NewClient(r.sock).Status(context.Background())
		return err == nil
	})

	// Several probes per tenant, each redeeming and rotating the refresh token.
	for range 3 {
		for _, id := range []string{tenantHealthy, tenantSIF} {
			if out, code := r.cli("", "check", id, "--config", r.cfg); code != 0 && code != 1 {
				t.Fatalf("check %s: exit %d\n%s", id, code, out)
			}
		}
	}
	r.eventually("alerts reach Slack and the webhook", 90*time.Second, logs, func() bool {
		return len(r.slack.requests()) > 0 && len(r.webhook.requests()) > 0
	})
	if out, code := r.cli("", "notify", "test", "ops-webhook", "--config", r.cfg); code != 0 {
		t.Fatalf("notify test: exit %d\n%s", code, out)
	}
	r.cli("", "notify", "test", "ops-mail", "--config", r.cfg) // the SMTP host is down: the failure is output

	for _, id := range []string{tenantHealthy, tenantSIF, tenantConf} {
		r.cli("", "explain", id, "--socket", r.sock)
		r.cli("", "explain", id, "--json", "--socket", r.sock)
		r.cli("", "history", id, "--socket", r.sock)
		r.cli("", "policies", id, "--socket", r.sock)
	}
	r.cli("", "status", "--socket", r.sock)
	r.cli("", "status", "--json", "--socket", r.sock)
	r.cli("", "config", "show", "--config", r.cfg)
	r.cli("", "config", "check", "--config", r.cfg)

	issued, counts := r.front.issued()
	if counts["refresh_token"] < 4 || counts["access_token"] < 4 || counts["id_token"] < 2 {
		t.Fatalf("the run issued too few tokens to prove anything: %v", counts)
	}
	// An administrator pastes a token error with a real refresh token into
	// diagnose: the explanation must not repeat it.
	for tok, kind := range issued {
		if kind == "refresh_token" {
			r.cli("AADSTS70043: The refresh token has expired. refresh_token="+tok+"&client_id="+clientAppID+"\n", "diagnose")
			r.cli("", "diagnose", "--json", "invalid_grant AADSTS50173 assertion "+tok)
			break
		}
	}

	api := socketClient(r.sock)
	r.get("API", api, "http://unix/v1/status")
	r.get("API", api, "http://unix/v1/silences")
	for _, id := range []string{tenantHealthy, tenantSIF} {
		for _, p := range []string{"explain", "history?limit=500", "policies"} {
			r.get("API", api, "http://unix/v1/tenants/"+id+"/"+p)
		}
	}
	r.get("metrics", http.DefaultClient, "http://"+r.metrics+"/metrics")

	// Crash output: SIGQUIT makes the Go runtime dump every goroutine's
	// stack to stderr and exit, as a crash would.
	before := len(logs.String())
	if err := daemon.Process.Signal(syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	_ = daemon.Wait()
	if !strings.Contains(logs.String()[before:], "goroutine ") {
		t.Fatalf("SIGQUIT produced no stack dump:\n%s", logs.String()[before:])
	}
	r.out("daemon stdout+stderr (slog, SIGQUIT dump)").WriteString(logs.String())

	// The secrets were in use (so their absence below means something):
	// the webhook got its bearer token and an HMAC signature.
	r.webhook.mu.Lock()
	hdrs := append([]http.Header(nil), r.webhook.headers...)
	r.webhook.mu.Unlock()
	if len(hdrs) == 0 || hdrs[0].Get("Authorization") != "Bearer "+webhookBearer || !strings.HasPrefix(hdrs[0].Get("X-Tokenhealth-Signature"), "sha256=") {
		t.Fatalf("the webhook did not receive its credentials: %v", hdrs)
	}
	for i, req := range r.slack.requests() {
		fmt.Fprintf(r.out("Slack message bodies"), "#%d %s\n", i, req)
	}
	for i, req := range r.webhook.requests() {
		fmt.Fprintf(r.out("webhook bodies"), "#%d %s\n", i, req)
	}
	state, err := os.ReadFile(filepath.Join(r.dir, "state", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	r.out("raw state file").Write(state)

}

// checkLeaks searches every output for every configured secret and every
// token the simulator issued.
func (r *run) checkLeaks(t *testing.T) {
	issued, counts := r.front.issued()
	needles := map[string]string{
		"Slack bot token": slackBotToken, "webhook HMAC secret": webhookHMAC, "webhook bearer token": webhookBearer,
		"SMTP password": smtpPassword, "client secret": clientSecret,
	}
	for tok, kind := range issued {
		for i, v := range tokenForms(tok) {
			needles[fmt.Sprintf("%s %.12s… form %d", kind, tok, i)] = v
		}
	}
	leaks := 0
	for where, buf := range r.outputs {
		if buf.Len() == 0 {
			t.Errorf("%s: nothing was captured", where)
		}
		for what, v := range needles {
			if i := bytes.Index(buf.Bytes(), []byte(v)); i >= 0 {
				leaks++
				lo, hi := max(0, i-80), min(buf.Len(), i+len(v)+40)
				t.Errorf("%s appears in %s: …%q…", what, where, buf.Bytes()[lo:hi])
			}
		}
	}
	t.Logf("searched %d outputs (%d bytes) for %d secrets and %d issued tokens (%v): %d leaks",
		len(r.outputs), totalLen(r.outputs), 5, len(issued), counts, leaks)
	for where, buf := range r.outputs {
		t.Logf("  %-32s %8d bytes", where, buf.Len())
	}
}

// tokenForms are the strings that would betray a token: the token itself
// and, for a JWT, its signature (which alone identifies and could rebuild
// it from the public claims) and its payload.
func tokenForms(tok string) []string {
	forms := []string{tok}
	if parts := strings.Split(tok, "."); len(parts) == 3 {
		for _, p := range parts[1:] {
			if len(p) >= 16 {
				forms = append(forms, p)
			}
		}
	}
	return forms
}

func totalLen(m map[string]*bytes.Buffer) int {
	n := 0
	for _, b := range m {
		n += b.Len()
	}
	return n
}
