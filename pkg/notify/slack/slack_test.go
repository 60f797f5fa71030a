package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/notify/notifytest"
)

// fakeSlack answers chat.postMessage like Slack: form fields in, JSON out.
type fakeSlack struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter) // consumed in order; then success
	posts   []map[string]string
}

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/chat.postMessage" {
		http.NotFound(w, r)
		return
	}
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	post := map[string]string{}
	for k := range r.PostForm {
		post[k] = r.PostForm.Get(k)
	}
	f.posts = append(f.posts, post)
	if len(f.answers) > 0 {
		a := f.answers[0]
		f.answers = f.answers[1:]
		a(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true,"channel":"C0CHAN","ts":"1700000000.000` + string(rune('0'+len(f.posts))) + `00"}`))
}

func slackError(code string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":false,"error":"` + code + `"}`))
	}
}

func status(code int, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(code)
	}
}

func newBot(t *testing.T, f *fakeSlack) *Bot {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return NewBot(&Config{BotToken: secret.New("xoxb-test-token"), Channel: "#ops", APIURL: srv.URL + "/api/"}, srv.Client())
}

func TestBotErrorsDecideRetryAndAgentHealth(t *testing.T) {
	cases := []struct {
		name        string
		answer      func(w http.ResponseWriter)
		retry       bool
		reason      string
		agentHealth bool
		retryAfter  time.Duration
	}{
		{"429 with Retry-After", status(429, "7"), true, notify.FailRateLimited, false, 7 * time.Second},
		{"503", status(503, ""), true, notify.FailServer, false, 0},
		{"400", status(400, ""), false, notify.FailClient, false, 0},
		{"invalid_auth", slackError("invalid_auth"), false, notify.FailAuth, true, 0},
		{"not_authed", slackError("not_authed"), false, notify.FailAuth, true, 0},
		{"account_inactive", slackError("account_inactive"), false, notify.FailAuth, true, 0},
		{"channel_not_found", slackError("channel_not_found"), false, notify.FailConfig, true, 0},
		{"ratelimited", slackError("ratelimited"), true, notify.FailRateLimited, false, 0},
		{"internal_error", slackError("internal_error"), true, notify.FailServer, false, 0},
		{"fatal_error", slackError("fatal_error"), true, notify.FailServer, false, 0},
		{"invalid_blocks", slackError("invalid_blocks"), false, notify.FailClient, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSlack{answers: []func(http.ResponseWriter){c.answer}}
			retry, err := newBot(t, f).Notify(context.Background(), notifytest.Firing())
			var ne *notify.Error
			if !errors.As(err, &ne) {
				t.Fatalf("err = %v, want *notify.Error", err)
			}
			if retry != c.retry || ne.Reason != c.reason || ne.AgentHealth != c.agentHealth || ne.RetryAfter != c.retryAfter {
				t.Fatalf("retry=%v reason=%s agentHealth=%v retryAfter=%s; want %v %s %v %s",
					retry, ne.Reason, ne.AgentHealth, ne.RetryAfter, c.retry, c.reason, c.agentHealth, c.retryAfter)
			}
			if strings.Contains(err.Error(), "xoxb-test-token") {
				t.Fatalf("token leaked into %q", err)
			}
		})
	}
}

func TestBotPostsBlocksAndThreadsResolved(t *testing.T) {
	f := &fakeSlack{}
	bot := newBot(t, f)
	firing := notifytest.Firing()
	if _, err := bot.Notify(context.Background(), firing); err != nil {
		t.Fatal(err)
	}
	if firing.PostedRef != "C0CHAN/1700000000.000100" {
		t.Fatalf("PostedRef = %q", firing.PostedRef)
	}
	resolved := notifytest.Resolved()
	resolved.ThreadRef = firing.PostedRef
	if _, err := bot.Notify(context.Background(), resolved); err != nil {
		t.Fatal(err)
	}
	p0, p1 := f.posts[0], f.posts[1]
	if p0["token"] != "xoxb-test-token" || p0["channel"] != "#ops" || p0["thread_ts"] != "" {
		t.Fatalf("firing post fields: channel=%q thread_ts=%q", p0["channel"], p0["thread_ts"])
	}
	if p1["channel"] != "C0CHAN" || p1["thread_ts"] != "1700000000.000100" {
		t.Fatalf("resolved post: channel=%q thread_ts=%q, want C0CHAN and the firing ts", p1["channel"], p1["thread_ts"])
	}
	for _, p := range f.posts {
		for _, field := range []string{notifytest.Strings(t, []byte(p["blocks"])), p["text"]} {
			for _, bad := range []string{"<!channel>", "<@U0ADMIN>", "<script>"} {
				if strings.Contains(field, bad) {
					t.Errorf("unescaped %q reached Slack: %s", bad, field)
				}
			}
		}
	}
	for _, want := range []string{"&lt;!channel&gt; &amp; Sons", "&lt;@U0ADMIN&gt;", "tokenhealth explain 6f1c2d3e-0000-4000-8000-000000000001", "in 1 d 4 h", "2026-11-28 13:00 UTC"} {
		if !strings.Contains(notifytest.Strings(t, []byte(p0["blocks"])), want) {
			t.Errorf("firing blocks lack %q", want)
		}
	}
	// The blocks as Slack received them are the reviewed example.
	notifytest.Golden(t, "slack_firing_blocks.json", notifytest.PrettyJSON(t, []byte(p0["blocks"])))
	notifytest.Golden(t, "slack_resolved_blocks.json", notifytest.PrettyJSON(t, []byte(p1["blocks"])))
}

func TestWebhookPostsJSONAndRedactsURLInErrors(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/services/T0/B0/gone" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	wh := NewWebhook(&WebhookConfig{URL: secret.New(srv.URL + "/services/T0/B0/secretpart")}, srv.Client())
	if _, err := wh.Notify(context.Background(), notifytest.Firing()); err != nil {
		t.Fatal(err)
	}
	if blocks, ok := got["blocks"].([]any); !ok || len(blocks) != 5 {
		t.Fatalf("webhook body blocks = %v", got["blocks"])
	}
	gone := NewWebhook(&WebhookConfig{URL: secret.New(srv.URL + "/services/T0/B0/gone")}, srv.Client())
	retry, err := gone.Notify(context.Background(), notifytest.Firing())
	var ne *notify.Error
	if retry || !errors.As(err, &ne) || !ne.AgentHealth || ne.Reason != notify.FailConfig {
		t.Fatalf("revoked webhook: retry=%v err=%v", retry, err)
	}
	dead := NewWebhook(&WebhookConfig{URL: secret.New("http://127.0.0.1:1/services/T0/B0/secretpart")}, srv.Client())
	retry, err = dead.Notify(context.Background(), notifytest.Firing())
	if !retry || err == nil || strings.Contains(err.Error(), "secretpart") {
		t.Fatalf("connection error: retry=%v err=%v (must retry and not show the URL path)", retry, err)
	}
}

func TestLargeGroupStaysWithinSlackLimits(t *testing.T) {
	m := notifytest.Firing()
	base := m.Alerts[1]
	m.Alerts = nil
	for i := range 45 {
		a := base
		a.Finding.TenantID = fmt.Sprintf("tenant-%02d", i)
		a.Finding.TenantName = fmt.Sprintf("Customer %02d", i)
		a.Key = a.Finding.Key()
		m.Alerts = append(m.Alerts, a)
	}
	blocks, text := Render(m)
	// header + 20 alerts + "and 25 more" + divider + context
	if len(blocks) != 24 {
		t.Fatalf("%d blocks, want 24 (Slack allows 50)", len(blocks))
	}
	b, _ := json.Marshal(blocks[21])
	if !strings.Contains(string(b), "…and 25 more: Customer 20 (tenant-20)") {
		t.Fatalf("overflow block: %s", b)
	}
	if !strings.HasPrefix(text, "CRITICAL Delegated token will break (45 tenants): Customer 00 (tenant-00)") {
		t.Fatalf("fallback text: %q", text)
	}
}
