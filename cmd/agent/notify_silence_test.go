package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/notify/webhook"
)

func TestSilenceAddListRemove(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state.db")
	key := filepath.Join(dir, "state.key")
	// A socket nobody listens on: the commands use the state file.
	common := []string{"--state", state, "--key-file", key, "--socket", filepath.Join(dir, "none.sock")}

	code, out, errOut := runConfigCLI(append([]string{"silence", "add", "--tenant", "6f1c2d3e-0000-4000-8000-000000000001",
		"--kind", "predicted_break", "--for", "2d", "--reason", "policy rollout this week", "--author", "alice", "--json"}, common...)...)
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, errOut)
	}
	var s notify.Silence
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("add --json: %v\n%s", err, out)
	}
	if s.TenantID != "6f1c2d3e-0000-4000-8000-000000000001" || s.Kind != "predicted_break" || s.Author != "alice" ||
		s.EndsAt.Sub(s.CreatedAt).Hours() != 48 {
		t.Fatalf("silence = %+v", s)
	}
	code, out, _ = runConfigCLI(append([]string{"silence", "list"}, common...)...)
	if code != 0 || !strings.Contains(out, s.ID) || !strings.Contains(out, "policy rollout this week") || !strings.Contains(out, "in 2 d") {
		t.Fatalf("list: exit %d:\n%s", code, out)
	}
	code, out, errOut = runConfigCLI(append([]string{"silence", "remove", s.ID}, common...)...)
	if code != 0 || out != "silence "+s.ID+" removed\n" {
		t.Fatalf("remove: exit %d: %q %q", code, out, errOut)
	}
	code, out, _ = runConfigCLI(append([]string{"silence", "list", "--json"}, common...)...)
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("list after remove: exit %d: %q", code, out)
	}
	code, _, errOut = runConfigCLI(append([]string{"silence", "remove", s.ID}, common...)...)
	if code != 1 || !strings.Contains(errOut, "no active silence") {
		t.Fatalf("second remove: exit %d: %q", code, errOut)
	}
}

func TestSilenceAddRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--state", filepath.Join(dir, "state.db"), "--key-file", filepath.Join(dir, "k"), "--socket", filepath.Join(dir, "none.sock")}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--tenant", "t", "--reason", "r"}, "tokenhealth: silence add: --for is required (e.g. --for 24h)\n"},
		{[]string{"--tenant", "t", "--for", "soon", "--reason", "r"}, "tokenhealth: silence add: --for \"soon\": not a duration such as 4h, 24h or 7d\n"},
		{[]string{"--tenant", "t", "--for", "1h"}, "tokenhealth: silence add: reason: required (say why, for the next person on call)\n"},
		{[]string{"--for", "1h", "--reason", "r", "--kind", "bogus"}, "tokenhealth: silence add: tenant: required; kind: \"bogus\" is not one of token_failing, tenant_unreachable, predicted_break, policy_breaks_now, report_only_risk, policy_drift, whatif_disagreement, graph_access, idp_unreachable, agent_health\n"},
	}
	for _, c := range cases {
		code, _, errOut := runConfigCLI(append(append([]string{"silence", "add"}, c.args...), common...)...)
		if code != 2 || errOut != c.want {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q", c.args, code, errOut, c.want)
		}
	}
}

func TestNotifyTestSendsSampleToWebhook(t *testing.T) {
	var got webhook.Payload
	var sig string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig = r.Header.Get(webhook.HeaderSignature)
		_ = json.Unmarshal(body, &got)
		if r.URL.Path == "/broken" {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	yml := `global:
  state_dir: ` + dir + `
  client_app_id: 11111111-2222-3333-4444-555555555555
tenants:
  - id: 6f1c2d3e-0000-4000-8000-000000000001
    name: Contoso
    service_account: svc-sync@contoso.com
receivers:
  - name: hook
    webhook: {url: "` + srv.URL + `/hook", hmac_secret: "0123456789abcdef0123"}
  - name: broken
    webhook: {url: "` + srv.URL + `/broken"}
routes:
  - receiver: hook
`
	if err := os.WriteFile(cfgPath, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	code, out, errOut := runConfigCLI("notify", "test", "hook", "--config", cfgPath)
	if code != 0 || !strings.HasPrefix(out, "OK  sent a test alert to hook (webhook)") {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if got.Reason != notify.ReasonTest || len(got.Alerts) != 1 || !strings.HasPrefix(sig, "sha256=") {
		t.Fatalf("received %+v sig %q", got, sig)
	}
	code, _, errOut = runConfigCLI("notify", "test", "broken", "--config", cfgPath)
	if code != 1 || !strings.Contains(errOut, "FAILED  broken (webhook)") || !strings.Contains(errOut, "would not retry") {
		t.Fatalf("broken: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runConfigCLI("notify", "test", "nope", "--config", cfgPath)
	if code != 1 || !strings.Contains(errOut, `no receiver named "nope"`) {
		t.Fatalf("unknown: exit %d, stderr %q", code, errOut)
	}
}
