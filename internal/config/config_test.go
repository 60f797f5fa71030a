package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

const exampleFile = "../../configs/tokenhealth.example.yaml"

// TestExampleConfigPasses keeps the shipped example valid, through the
// exported Load and the real environment variables.
func TestExampleConfigPasses(t *testing.T) {
	creds := t.TempDir()
	for name, value := range map[string]string{
		"slack-bot-token":        "xoxb-example-token\n",
		"smtp-password":          "smtp-example-password\n",
		"fabrikam-client-secret": "fabrikam-example-secret\n",
	} {
		if err := os.WriteFile(filepath.Join(creds, name), []byte(value), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	t.Setenv("STATE_DIRECTORY", "")
	t.Setenv("RUNTIME_DIRECTORY", "")

	cfg, err := Load(exampleFile)
	if err != nil {
		t.Fatalf("example config does not load:\n%v", err)
	}
	if got, want := cfg.Summary(), "config OK: 4 tenants (2 from tenants.d), 3 receivers, 3 routes, probe every 15m"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	if got := cfg.Receivers[0].Slack.BotToken.Reveal(); got != "xoxb-example-token" {
		t.Errorf("slack bot token resolved to %q", got)
	}
	if got := cfg.Receivers[1].Email.Password.Reveal(); got != "smtp-example-password" {
		t.Errorf("smtp password resolved to %q", got)
	}
	if got := cfg.Tenants[1].ClientSecret.Reveal(); got != "fabrikam-example-secret" {
		t.Errorf("client secret resolved to %q", got)
	}
	wantDir := filepath.Join(filepath.Dir(exampleFile), "tenants.d")
	if cfg.Global.TenantsDir != wantDir || len(cfg.TenantFiles) != 1 {
		t.Errorf("tenants_dir = %q, files %v", cfg.Global.TenantsDir, cfg.TenantFiles)
	}
	if file, path := cfg.Tenants[3].Source(); file != filepath.Join(wantDir, "example.yaml") || path != "tenants[1]" {
		t.Errorf("tenant 3 source = %s %s", file, path)
	}
	if cfg.Tenants[3].RememberMFADays != 7 || cfg.Tenants[2].RememberMFADays != 0 {
		t.Errorf("remember_mfa_days: %d, %d", cfg.Tenants[3].RememberMFADays, cfg.Tenants[2].RememberMFADays)
	}
}

func TestGlobalDefaults(t *testing.T) {
	cfg := mustLoad(t, nil, "tenants: []\n")
	g := cfg.Global
	want := Global{
		StateDir: "/var/lib/tokenhealth", StateKeyFile: "/var/lib/tokenhealth/state.key",
		Socket: "/run/tokenhealth/tokenhealth.sock", SocketGroup: "tokenhealth",
		MetricsListen: "127.0.0.1:9317", LogLevel: "info", Cloud: CloudPublic,
		ProbeInterval: Duration(15 * time.Minute), ProbeJitter: Jitter{Percent: 10},
		ProbeTimeout: Duration(30 * time.Second), MaxConcurrentProbes: 32,
		PolicyRefreshInterval: Duration(time.Hour), SigninPollInterval: Duration(15 * time.Minute),
		UnreachableAfterFailures: 3, UnreachableAfter: Duration(30 * time.Minute),
		BackoffInitial: Duration(time.Minute), BackoffMax: Duration(15 * time.Minute),
		AlertWarningLead: Duration(72 * time.Hour), AlertCriticalLead: Duration(24 * time.Hour),
		RepeatInterval: Duration(4 * time.Hour), GroupWindow: Duration(time.Minute),
	}
	if g != want {
		t.Errorf("defaults\n got %+v\nwant %+v", g, want)
	}
}

// The systemd unit's directories become the defaults; explicit "" keeps
// metrics off.
func TestEnvironmentDefaults(t *testing.T) {
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "state-key"), []byte("k"), 0o400); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"STATE_DIRECTORY":       "/var/lib/th-state:/var/lib/other",
		"RUNTIME_DIRECTORY":     "/run/th-run",
		"CREDENTIALS_DIRECTORY": creds,
	}
	cfg := mustLoad(t, env, "global:\n  metrics_listen: \"\"\n")
	g := cfg.Global
	if g.StateDir != "/var/lib/th-state" || g.Socket != "/run/th-run/tokenhealth.sock" ||
		g.StateKeyFile != filepath.Join(creds, "state-key") || g.MetricsListen != "" {
		t.Errorf("got state_dir=%q socket=%q state_key_file=%q metrics_listen=%q", g.StateDir, g.Socket, g.StateKeyFile, g.MetricsListen)
	}
	// Without the credential the key file lives in the state directory.
	delete(env, "CREDENTIALS_DIRECTORY")
	if got := mustLoad(t, env, "").Global.StateKeyFile; got != "/var/lib/th-state/state.key" {
		t.Errorf("state_key_file = %q", got)
	}
}

func TestTenantInheritsGlobal(t *testing.T) {
	cfg := mustLoad(t, nil, `
global:
  client_app_id: 1b730954-1685-4b74-9bfd-dac224a7b894
  remember_mfa_days: 14
  probe_interval: 20m
tenants:
  - id: 6F1C2D3E-4A5B-4C6D-8E7F-9A0B1C2D3E4F
    service_account: svc@contoso.com
  - id: 0d9b7c6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d
    name: Fabrikam
    service_account: svc@fabrikam.com
    client_app_id: 04b07795-8ddb-461a-bbee-02f9e1bf7b46
    platform_app_id: 9c8a7b6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d
    remember_mfa_days: 0
    probe_interval: 5m
    signin_poll_interval: 2m
`)
	a, b := cfg.Tenants[0], cfg.Tenants[1]
	if a.ID != "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f" || a.Name != a.ID {
		t.Errorf("id %q name %q: want the lower-cased GUID for both", a.ID, a.Name)
	}
	if a.ClientAppID != "1b730954-1685-4b74-9bfd-dac224a7b894" || a.PlatformAppID != a.ClientAppID || a.ClientType != ClientPublic {
		t.Errorf("tenant 0 app ids %q %q type %q", a.ClientAppID, a.PlatformAppID, a.ClientType)
	}
	if a.RememberMFADays != 14 || a.ProbeInterval != Duration(20*time.Minute) ||
		a.PolicyRefreshInterval != Duration(time.Hour) || a.SigninPollInterval != Duration(15*time.Minute) {
		t.Errorf("tenant 0 inherited %d %s %s %s", a.RememberMFADays, a.ProbeInterval, a.PolicyRefreshInterval, a.SigninPollInterval)
	}
	if b.ClientAppID != "04b07795-8ddb-461a-bbee-02f9e1bf7b46" || b.PlatformAppID != "9c8a7b6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d" {
		t.Errorf("tenant 1 app ids %q %q", b.ClientAppID, b.PlatformAppID)
	}
	// An explicit 0 states "unknown" and must not be replaced by global's 14.
	if b.RememberMFADays != 0 || b.ProbeInterval != Duration(5*time.Minute) || b.SigninPollInterval != Duration(2*time.Minute) {
		t.Errorf("tenant 1 overrides lost: %d %s %s", b.RememberMFADays, b.ProbeInterval, b.SigninPollInterval)
	}
}

func TestSecretSources(t *testing.T) {
	dir := fixtures(t)
	cfgFile := filepath.Join(dir, "config.yaml")
	cfg, err := newLoader(getenvFrom(fixtureEnv(dir))).load(cfgFile, []byte(`
receivers:
  - name: from-file
    webhook: {url: "https://itsm.example/h", hmac_secret_file: secret-0600}
  - name: from-credential
    slack: {bot_token_credential: slack-bot-token, channel: C1}
  - name: inline
    slack: {bot_token: xoxb-inline, channel: C1}
`))
	if err != nil {
		t.Fatal(err)
	}
	// The relative _file path resolves against the config file's directory,
	// and the trailing newline of both files is dropped.
	if got := cfg.Receivers[0].Webhook.HMACSecret.Reveal(); got != fileSecret {
		t.Errorf("hmac_secret from file = %q", got)
	}
	if got := cfg.Receivers[0].Webhook.HMACSecretFile; got != filepath.Join(dir, "secret-0600") {
		t.Errorf("hmac_secret_file kept as %q", got)
	}
	for i, want := range []string{slackCredential, "xoxb-inline"} {
		if got := cfg.Receivers[i+1].Slack.BotToken.Reveal(); got != want {
			t.Errorf("receiver %d token = %q, want %q", i+1, got, want)
		}
	}
}

// TestSecretsNeverLeak: neither the effective-config dump, the summary, a
// %+v of the config nor any error message contains a secret value.
func TestSecretsNeverLeak(t *testing.T) {
	dir := fixtures(t)
	const inline = "xoxb-inline-secret-value"
	yml := fmt.Sprintf(`
global:
  client_app_id: 1b730954-1685-4b74-9bfd-dac224a7b894
tenants:
  - id: 0d9b7c6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d
    service_account: svc@fabrikam.com
    client_type: confidential
    client_secret_credential: fabrikam-client-secret
receivers:
  - name: a
    slack: {bot_token: %s, channel: C1}
  - name: b
    slack: {bot_token_credential: slack-bot-token, channel: C1}
  - name: c
    webhook: {url: "https://itsm.example/h", hmac_secret_file: %s/secret-0600}
`, inline, dir)
	cfg, err := newLoader(getenvFrom(fixtureEnv(dir))).load("config.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{inline, fileSecret, slackCredential, clientCredential}
	for _, rendering := range []string{string(out), cfg.Summary(), fmt.Sprintf("%+v %v", *cfg, cfg.Receivers)} {
		for _, s := range secrets {
			if strings.Contains(rendering, s) {
				t.Errorf("secret %q leaked in:\n%s", s, rendering)
			}
		}
	}
	if n := strings.Count(string(out), "<secret>"); n != 4 {
		t.Errorf("config show has %d <secret> markers, want 4:\n%s", n, out)
	}

	// Errors about secret fields name the field, never the value: a wrong
	// token type, a conflict, and an unknown key holding a secret.
	bad := strings.Replace(yml, "webhook: {url", "webhook: {hmac_secret: short-"+inline+", url", 1)
	bad = strings.Replace(bad, "name: b", "name: b\n    slak_token: "+clientCredential, 1)
	bad = strings.Replace(bad, "bot_token: "+inline, "bot_token: not-a-slack-"+inline, 1)
	_, err = newLoader(getenvFrom(fixtureEnv(dir))).load("config.yaml", []byte(bad))
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	if !strings.Contains(msg, "receivers[0].slack.bot_token: not a Slack bot token") ||
		!strings.Contains(msg, "receivers[2].webhook.hmac_secret: set only one of") ||
		!strings.Contains(msg, "receivers[1].slak_token: unknown field") {
		t.Fatalf("unexpected errors:\n%s", msg)
	}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("secret %q leaked in errors:\n%s", s, msg)
		}
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	cfg := mustLoad(t, nil, `
global:
  client_app_id: 1b730954-1685-4b74-9bfd-dac224a7b894
tenants:
  - &first
    id: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f
    service_account: svc@contoso.com
    tags: &tags [eu, gold]
  - <<: *first
    id: 0d9b7c6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d
  - <<: [*first]
    id: 3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d
    service_account: other@contoso.com
    tags: *tags
`)
	want := []struct{ id, account string }{
		{"6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "svc@contoso.com"},
		{"0d9b7c6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "svc@contoso.com"},
		{"3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d", "other@contoso.com"},
	}
	for i, w := range want {
		tn := cfg.Tenants[i]
		if tn.ID != w.id || tn.ServiceAccount != w.account || strings.Join(tn.Tags, ",") != "eu,gold" {
			t.Errorf("tenant %d = %s %s %v, want %s %s [eu gold]", i, tn.ID, tn.ServiceAccount, tn.Tags, w.id, w.account)
		}
	}
}

// A small document whose aliases expand to millions of nodes is refused
// instead of keeping the agent busy.
func TestAliasExpansionIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("global:\n  client_app_id: 1b730954-1685-4b74-9bfd-dac224a7b894\n")
	b.WriteString("routes:\n  - &r\n    receiver: x\n    tags: &t [")
	for i := 0; i < 200; i++ {
		b.WriteString("a,")
	}
	b.WriteString("a]\n")
	for i := 0; i < 100; i++ {
		b.WriteString("  - {receiver: x, tags: *t}\n")
	}
	l := newLoader(getenvFrom(nil))
	l.maxNodes = 10_000 // the production limit works the same, only slower to reach
	_, err := l.load("bomb.yaml", []byte(b.String()))
	want := "bomb.yaml:6: routes[48].tags[153]: document too large (more than 10000 values after expanding aliases); split tenants into tenants_dir files"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func mustLoad(t *testing.T, env map[string]string, yml string) *Config {
	t.Helper()
	cfg, err := newLoader(getenvFrom(env)).load("config.yaml", []byte(yml))
	if err != nil {
		t.Fatalf("load:\n%v", err)
	}
	return cfg
}

func TestLoadReportsUnreadableFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	var verr *ValidationError
	if err == nil || errors.As(err, &verr) || !strings.Contains(err.Error(), "cannot read config file") {
		t.Fatalf("got %v", err)
	}
}

func TestRouteMatches(t *testing.T) {
	gold := &Tenant{Tags: []string{"eu", "gold"}}
	plain := &Tenant{}
	r := Route{Severities: []health.Severity{health.SeverityCritical}, Tags: []string{"gold"}, Kinds: []health.Kind{health.KindTokenFailing}}
	all := Route{}
	cases := []struct {
		route *Route
		t     *Tenant
		sev   health.Severity
		kind  health.Kind
		want  bool
	}{
		{&r, gold, health.SeverityCritical, health.KindTokenFailing, true},
		{&r, gold, health.SeverityWarning, health.KindTokenFailing, false},
		{&r, gold, health.SeverityCritical, health.KindPolicyDrift, false},
		{&r, plain, health.SeverityCritical, health.KindTokenFailing, false},
		{&r, nil, health.SeverityCritical, health.KindTokenFailing, false},
		{&all, plain, health.SeverityInfo, health.KindAgentHealth, true},
		{&all, nil, health.SeverityInfo, health.KindIdPUnreachable, true},
	}
	for i, c := range cases {
		if got := c.route.Matches(c.t, c.sev, c.kind); got != c.want {
			t.Errorf("case %d: Matches = %v, want %v", i, got, c.want)
		}
	}
}
