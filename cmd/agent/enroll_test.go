package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/store"
)

// The demo scenario's healthy tenant auto-approves device codes as its
// service account.
const (
	demoTenant = "11111111-1111-4111-8111-111111111111"
	demoUser   = "svc-sync@contoso-healthy.onmicrosoft.com"
	demoApp    = "7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b"
)

// simConfig starts the simulator and writes a configuration for the public
// cloud whose connections go to it (TOKENHEALTH_CONNECT_TO, its CA as the
// bundle). It returns the config path and the state file path.
func simConfig(t *testing.T) (cfgPath, statePath string, sim *entrasim.Server) {
	t.Helper()
	sim, err := entrasim.New(entrasim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := sim.WriteCAFile(ca); err != nil {
		t.Fatal(err)
	}
	cfg := `global:
  state_dir: ` + dir + `
  state_key_file: ` + filepath.Join(dir, "state.key") + `
  ca_bundle_file: ` + ca + `
  probe_timeout: 10s
tenants:
  - id: ` + demoTenant + `
    name: Contoso
    service_account: ` + demoUser + `
    client_app_id: ` + demoApp + `
`
	t.Setenv(connectToEnv, sim.Addr())
	cfgPath = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, filepath.Join(dir, "state.db"), sim
}

func TestEnrollThenCheck(t *testing.T) {
	cfgPath, _, _ := simConfig(t)

	code, out, errs := runCLI("check", "Contoso", "--config", cfgPath)
	if code != 1 || !strings.Contains(out, "not enrolled. Run 'tokenhealth enroll "+demoTenant+"' first.") {
		t.Fatalf("check before enrollment: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}

	code, out, errs = runCLI("enroll", demoTenant, "--config", cfgPath)
	if code != 0 {
		t.Fatalf("enroll: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	for _, want := range []string{
		"To sign in, use a web browser", // Microsoft's device code message, printed as given
		"Enrolled Contoso (" + demoTenant + ") as " + demoUser + " by device code, public client.",
		"(from the id_token's auth_time)",
		"Verified: the refresh token redeems",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("enroll output lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = runCLI("check", demoTenant, "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "Contoso ("+demoTenant+"): OK. The refresh token was redeemed at the identity provider") {
		t.Fatalf("check: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}

	code, out, _ = runCLI("check", demoTenant, "--json", "--config", cfgPath)
	var got checkJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("check --json: exit %d, %v\n%s", code, err, out)
	}
	if got.Outcome != "ok" || got.TokenSource != "identity_provider" || got.Clocks.AuthFlow != "deviceCode" || got.Diagnosis != nil {
		t.Errorf("check --json = %+v", got)
	}
}

func TestCheckReportsAFailingToken(t *testing.T) {
	cfgPath, _, sim := simConfig(t)
	if code, out, errs := runCLI("enroll", demoTenant, "--config", cfgPath); code != 0 {
		t.Fatalf("enroll: exit %d\n%s\n%s", code, out, errs)
	}
	if err := sim.Tenant(demoTenant).SetAccountEnabled(demoUser, false); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI("check", demoTenant, "--config", cfgPath)
	if code != 2 {
		t.Fatalf("check of a disabled account: exit %d, want 2\nstdout %s\nstderr %s", code, out, errs)
	}
	for _, want := range []string{"FAILING", "Cause: account_disabled (AADSTS50057)", "What to do:", "Reference: https://login.microsoftonline.com/error?code=50057"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestEnrollAndCheckRefuseWhileTheDaemonHoldsTheState(t *testing.T) {
	cfgPath, statePath, _ := simConfig(t)
	db, err := store.Open(statePath, store.Options{Key: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := "tokenhealth: " + connectToEnv + "=" + os.Getenv(connectToEnv) + ": every connection goes to " + os.Getenv(connectToEnv) + " (simulator and demos only)\n" +
		"tokenhealth: the tokenhealth daemon holds " + statePath + "; stop it (systemctl stop tokenhealth) or use the daemon\n"
	for _, cmd := range []string{"enroll", "check"} {
		code, _, errs := runCLI(cmd, demoTenant, "--config", cfgPath)
		if code != 1 || errs != want {
			t.Errorf("%s: exit %d, stderr %q\nwant %q", cmd, code, errs, want)
		}
	}
}

func TestEnrollUsageErrors(t *testing.T) {
	cfgPath, _, _ := simConfig(t)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"enroll", "--config", cfgPath}, 2, "Usage: tokenhealth " + enrollUsage},
		{[]string{"enroll", demoTenant, "--listen", "127.0.0.1:8400", "--config", cfgPath}, 2, "--listen only applies to --auth-code"},
		{[]string{"enroll", "nobody", "--config", cfgPath}, 1, `tenant "nobody" is not in the configuration ` + cfgPath},
		{[]string{"check", "--config", cfgPath}, 2, "Usage: tokenhealth " + checkUsage},
	}
	for _, tt := range tests {
		code, _, errs := runCLI(tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d stderr %q, want exit %d containing %q", tt.args, code, errs, tt.code, tt.want)
		}
	}
}

// browserStdin plays the operator of `enroll --auth-code`: when the command
// reads standard input, it opens the sign-in URL the command printed and
// "pastes" the address the browser landed on.
type browserStdin struct {
	t    *testing.T
	out  *bytes.Buffer
	hc   *http.Client
	line *strings.Reader
}

func (b *browserStdin) Read(p []byte) (int, error) {
	if b.line == nil {
		var signIn string
		for _, l := range strings.Split(b.out.String(), "\n") {
			if strings.HasPrefix(l, "https://") && strings.Contains(l, "/oauth2/v2.0/authorize?") {
				signIn = l
			}
		}
		if signIn == "" {
			b.t.Errorf("no sign-in URL printed before reading input:\n%s", b.out.String())
			return 0, io.EOF
		}
		resp, err := b.hc.Get(signIn)
		if err != nil {
			b.t.Errorf("authorize: %v", err)
			return 0, io.EOF
		}
		resp.Body.Close()
		b.line = strings.NewReader(resp.Header.Get("Location") + "\n")
	}
	return b.line.Read(p)
}

func TestEnrollAuthCodeWhenDeviceCodeIsBlocked(t *testing.T) {
	cfgPath, _, sim := simConfig(t)
	_, err := sim.Tenant(demoTenant).AddPolicy(json.RawMessage(`{"displayName":"Block device code flow","state":"enabled",
	 "conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},
	  "clientAppTypes":["all"],"authenticationFlows":{"transferMethods":"deviceCodeFlow"}},
	 "grantControls":{"operator":"OR","builtInControls":["block"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI("enroll", demoTenant, "--config", cfgPath)
	if code != 1 || !strings.Contains(errs, "AADSTS53003") || !strings.Contains(errs, "--auth-code") {
		t.Fatalf("device code enrollment under a device-code block: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}

	var stdout, stderr bytes.Buffer
	hc := &http.Client{Transport: sim.RedirectTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	env := &cliEnv{stdin: &browserStdin{t: t, out: &stdout, hc: hc}, stdout: &stdout, stderr: &stderr}
	code = dispatch(env, []string{"enroll", demoTenant, "--auth-code", "--config", cfgPath})
	if code != 0 {
		t.Fatalf("enroll --auth-code: exit %d\nstdout %s\nstderr %s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		"Open this URL in a browser and sign in as " + demoUser,
		"by authorization code with PKCE, public client.",
		"Verified: the refresh token redeems",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}
