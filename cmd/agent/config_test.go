package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runConfigCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = dispatch(&cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

// exampleCredentials provides the systemd credentials the shipped example
// refers to, and returns their values.
func exampleCredentials(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	values := map[string]string{
		"slack-bot-token":        "xoxb-cli-test-token",
		"smtp-password":          "cli-test-smtp-password",
		"fabrikam-client-secret": "cli-test-client-secret",
	}
	var secrets []string
	for name, v := range values {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o400); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, v)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	t.Setenv("STATE_DIRECTORY", "")
	t.Setenv("RUNTIME_DIRECTORY", "")
	return secrets
}

const exampleConfig = "../../configs/tokenhealth.example.yaml"

func TestConfigCheckExample(t *testing.T) {
	exampleCredentials(t)
	code, out, errOut := runConfigCLI("config", "check", "--config", exampleConfig)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if want := "config OK: 4 tenants (2 from tenants.d), 3 receivers, 3 routes, probe every 15m\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
}

func TestConfigCheckReportsEveryProblem(t *testing.T) {
	exampleCredentials(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	yml := `global:
  client_app_id: not-a-guid
  probe_interval: 30s
tenants:
  - id: contoso.com
    servce_account: svc@contoso.com
routes:
  - receiver: nobody
`
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runConfigCLI("config", "check", "--config", path)
	want := path + `:2: global.client_app_id: "not-a-guid" is not a GUID (the application (client) ID from the app registration)
` + path + `:3: global.probe_interval: 30s is below the minimum of 1m
` + path + `:5: tenants[0].id: "contoso.com" is a domain name; use the tenant GUID: MSAL rewrites any URL containing "token" and domain names can change
` + path + `:6: tenants[0].servce_account: unknown field (did you mean service_account?)
` + path + `:8: routes[0].receiver: unknown receiver "nobody" (no receivers are defined)
`
	if code != 1 || out != "" || errOut != want {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, out, errOut, want)
	}
}

func TestConfigCheckMissingFileAndUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	code, _, errOut := runConfigCLI("config", "check", "--config", missing)
	if code != 1 || errOut != "tokenhealth: cannot read config file: open "+missing+": no such file or directory\n" {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runConfigCLI("config"); code != 2 || !strings.Contains(errOut, "usage: tokenhealth config check|show") {
		t.Errorf("no verb: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runConfigCLI("config", "check", "extra"); code != 2 {
		t.Errorf("stray argument: exit %d, want 2", code)
	}
}

func TestConfigShowRedactsSecrets(t *testing.T) {
	secrets := exampleCredentials(t)
	code, out, errOut := runConfigCLI("config", "show", "--config", exampleConfig)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("config show printed secret %q", s)
		}
	}
	for _, want := range []string{
		"# effective configuration of " + exampleConfig + " and 1 tenants.d files; defaults applied, secrets shown as <secret>\n",
		"    bot_token: <secret>\n",
		"    bot_token_credential: slack-bot-token\n",
		"    password: <secret>\n",
		"    client_secret: <secret>\n",
		"  probe_timeout: 30s\n",
		"  - id: 9e8d7c6b-5a4f-4e3d-a2c1-b0a9f8e7d6c5\n    name: Tailspin Toys\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q:\n%s", want, out)
		}
	}
}
