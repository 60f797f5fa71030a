package secrets

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/e2etest"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }

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
	*e2etest.Harness
	t       *testing.T
	dir     string
	cfg     string
	sock    string
	metrics string
	front   *recordingFront
	slack   *e2etest.Receiver
	webhook *e2etest.Receiver
	// outputs collects every text the run produced, by where it came from.
	outputs map[string]*bytes.Buffer
}

func (r *run) out(name string) *bytes.Buffer {
	if r.outputs[name] == nil {
		r.outputs[name] = &bytes.Buffer{}
	}
	return r.outputs[name]
}

// collectCLI keeps a CLI command's output (stdout and stderr) by command,
// after its command line for context. The command line is the test's own
// input, not the binary's output: a token the test pastes into diagnose is
// masked there, so only what the binary printed is searched for it.
func (r *run) collectCLI(args []string, output string) {
	line := strings.Join(args, " ")
	issued, _ := r.front.issued()
	for tok := range issued {
		line = strings.ReplaceAll(line, tok, "<issued token>")
	}
	fmt.Fprintf(r.out("cli "+args[0]), "$ tokenhealth %s\n%s\n", line, output)
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
	sim := e2etest.Simulator(t, entrasim.DemoScenario(), e2etest.SimulatorOptions{Unlisted: true})
	renamePolicy(t, sim.Tenant(tenantSIF), "Report-only: require MFA for all users", hostilePolicyName)
	layout := e2etest.Config{Dir: dir}
	r := &run{
		t: t, dir: dir, cfg: filepath.Join(dir, "config.yaml"), sock: layout.Socket(),
		metrics: freePort(t), front: newRecordingFront(t, sim),
		slack:   e2etest.NewReceiver(t, e2etest.SlackOK),
		webhook: e2etest.NewReceiver(t, nil),
		outputs: map[string]*bytes.Buffer{},
	}
	r.Harness = e2etest.New(t, e2etest.Binary(t), r.cfg, r.sock, r.front.addr())
	r.OnCLI = r.collectCLI
	if err := os.WriteFile(layout.CAFile(), r.front.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(dir, "client-secret")
	if err := os.WriteFile(secretFile, []byte(clientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tenants := e2etest.SimTenants(sim, tenantHealthy, tenantSIF)
	// A confidential client whose secret the simulated app does not accept:
	// the secret is loaded, sent and refused, and the refusal is reported.
	conf := e2etest.SimTenants(sim, tenantConf)[0]
	conf.Extra = "client_type: confidential, client_secret_file: " + secretFile
	e2etest.Config{
		Dir: dir, MetricsListen: r.metrics, ClientAppID: clientAppID, Global: "log_level: debug",
		Tenants: append(tenants, conf),
		Receivers: fmt.Sprintf(`receivers:
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
`, slackBotToken, r.slack.URL, r.webhook.URL, webhookHMAC, webhookBearer, smtpPassword),
	}.Write(t, r.cfg)
	return r
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
		if out, code := r.CLI("enroll", id, "--config", r.cfg); code != 0 {
			t.Fatalf("enroll %s: exit %d\n%s", id, code, out)
		}
	}
	// The confidential tenant's enrollment sends the client secret, which
	// the public simulated app refuses: the refusal is output too.
	if _, code := r.CLI("enroll", tenantConf, "--config", r.cfg); code == 0 {
		t.Fatal("enrolling with a secret the app does not accept succeeded")
	}

	r.Start()

	// Several probes per tenant, each redeeming and rotating the refresh token.
	for range 3 {
		for _, id := range []string{tenantHealthy, tenantSIF} {
			if out, code := r.CLI("check", id, "--config", r.cfg); code != 0 && code != 1 {
				t.Fatalf("check %s: exit %d\n%s", id, code, out)
			}
		}
	}
	r.Eventually("alerts reach Slack and the webhook", 90*time.Second, func() bool {
		return len(r.slack.Requests()) > 0 && len(r.webhook.Requests()) > 0
	})
	if out, code := r.CLI("notify", "test", "ops-webhook", "--config", r.cfg); code != 0 {
		t.Fatalf("notify test: exit %d\n%s", code, out)
	}
	r.CLI("notify", "test", "ops-mail", "--config", r.cfg) // the SMTP host is down: the failure is output

	for _, id := range []string{tenantHealthy, tenantSIF, tenantConf} {
		r.CLI("explain", id, "--socket", r.sock)
		r.CLI("explain", id, "--json", "--socket", r.sock)
		r.CLI("history", id, "--socket", r.sock)
		r.CLI("policies", id, "--socket", r.sock)
	}
	r.CLI("status", "--socket", r.sock)
	r.CLI("status", "--json", "--socket", r.sock)
	r.CLI("config", "show", "--config", r.cfg)
	r.CLI("config", "check", "--config", r.cfg)

	issued, counts := r.front.issued()
	if counts["refresh_token"] < 4 || counts["access_token"] < 4 || counts["id_token"] < 2 {
		t.Fatalf("the run issued too few tokens to prove anything: %v", counts)
	}
	// An administrator pastes a token error with a real refresh token into
	// diagnose: the explanation must not repeat it.
	for tok, kind := range issued {
		if kind == "refresh_token" {
			r.CLIInput("AADSTS70043: The refresh token has expired. refresh_token="+tok+"&client_id="+clientAppID+"\n", "diagnose")
			r.CLI("diagnose", "--json", "invalid_grant AADSTS50173 assertion "+tok)
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
	before := len(r.Logs.String())
	r.Signal(syscall.SIGQUIT)
	_ = r.Wait(e2etest.StopLimit)
	if !strings.Contains(r.Logs.String()[before:], "goroutine ") {
		t.Fatalf("SIGQUIT produced no stack dump:\n%s", r.Logs.String()[before:])
	}
	r.out("daemon stdout+stderr (slog, SIGQUIT dump)").WriteString(r.Logs.String())

	// The secrets were in use (so their absence below means something):
	// the webhook got its bearer token and an HMAC signature.
	hooks := r.webhook.Requests()
	if len(hooks) == 0 || hooks[0].Header.Get("Authorization") != "Bearer "+webhookBearer || !strings.HasPrefix(hooks[0].Header.Get("X-Tokenhealth-Signature"), "sha256=") {
		t.Fatalf("the webhook did not receive its credentials: %v", hooks)
	}
	for i, req := range r.slack.Requests() {
		fmt.Fprintf(r.out("Slack message bodies"), "#%d %s\n", i, readable(req))
	}
	for i, req := range hooks {
		fmt.Fprintf(r.out("webhook bodies"), "#%d %s\n", i, readable(req))
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
