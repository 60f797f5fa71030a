package secrets

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/pkg/notify/notifytest"
)

// injectedLine is what the hostile name tries to forge as a line of its own.
const injectedLine = "FORGED: all tenants healthy"

// hostilePolicyName is a Conditional Access policy name as a tenant
// administrator (or an attacker with policy write access) could set it:
// terminal escapes (clear screen, set title, colour), HTML, Slack mentions
// and links (the shared notify fixtures), and a newline forging a line.
var hostilePolicyName = "Report-only MFA \x1b[2J\x1b]0;pwned\x07\x1b[31m " + notifytest.HostilePolicy + " <!channel>\n" + injectedLine

// renamePolicy gives a simulated tenant's policy a new display name, as the
// tenant's administrator would in the portal.
func renamePolicy(t *testing.T, tenant *entrasim.Tenant, from, to string) {
	t.Helper()
	id := ""
	tenant.View(func(st *entrasim.TenantState) {
		for _, p := range st.Policies {
			if p.DisplayName == from {
				id = p.ID
			}
		}
	})
	if id == "" {
		t.Fatalf("tenant %s has no policy %q", tenant.ID, from)
	}
	patch, _ := json.Marshal(map[string]string{"displayName": to})
	if err := tenant.UpdatePolicy(id, patch); err != nil {
		t.Fatal(err)
	}
}

// terminalOutputs are the human-readable CLI renderings.
var terminalOutputs = []string{"cli explain", "cli status", "cli policies", "cli history", "cli check"}

func (r *run) checkEscaping(t *testing.T) {
	// The name reached the agent: the visible part is in what people read.
	if !strings.Contains(r.out("cli explain").String(), "Report-only MFA") {
		t.Fatalf("the hostile policy name never reached explain:\n%s", r.out("cli explain"))
	}
	for _, name := range terminalOutputs {
		out := r.out(name).Bytes()
		for _, bad := range []byte{0x1b, 0x07, 0x9b} {
			if i := bytes.IndexByte(out, bad); i >= 0 {
				t.Errorf("%s: control byte %#x reaches the terminal: %q", name, bad, out[max(0, i-40):min(len(out), i+40)])
			}
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), injectedLine) {
				t.Errorf("%s: the policy name forged a line of its own: %q", name, line)
			}
		}
	}

	// JSON outputs (status --json, explain --json, the API, the webhook)
	// carry the name JSON-escaped: no raw control byte in the stream.
	for _, name := range []string{"API", "webhook bodies"} {
		if i := bytes.IndexAny(r.out(name).Bytes(), "\x1b\x07"); i >= 0 {
			t.Errorf("%s: raw control byte in JSON output at %d", name, i)
		}
	}
	for _, q := range r.webhook.Requests() {
		if !json.Valid(q.Body) {
			t.Errorf("webhook body is not valid JSON: %.200s", q.Body)
		}
	}

	// Slack: after decoding the form and the blocks, no mention, link or
	// HTML can form, and the name is there, escaped.
	sawName := false
	for _, q := range r.slack.Requests() {
		form, err := url.ParseQuery(string(q.Body))
		if err != nil {
			t.Fatalf("Slack request is not a form: %v", err)
		}
		texts := []string{form.Get("text")}
		if blocks := form.Get("blocks"); blocks != "" {
			var v any
			if err := json.Unmarshal([]byte(blocks), &v); err != nil {
				t.Fatalf("Slack blocks are not JSON: %v", err)
			}
			texts = append(texts, jsonStrings(v)...)
		}
		for _, s := range texts {
			for _, bad := range []string{"<!channel>", "<@U0ADMIN>", "<script>", "\x1b", "<https://evil"} {
				if strings.Contains(s, bad) {
					t.Errorf("Slack message contains %q: %.300q", bad, s)
				}
			}
			if strings.Contains(s, "&lt;!channel&gt;") {
				sawName = true
			}
		}
	}
	if !sawName {
		t.Errorf("no Slack message carried the policy name escaped; messages:\n%s", r.out("Slack message bodies"))
	}
}

// jsonStrings returns every string value in a decoded JSON document.
func jsonStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, jsonStrings(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range x {
			out = append(out, jsonStrings(e)...)
		}
		return out
	}
	return nil
}
