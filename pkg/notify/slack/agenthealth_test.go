package slack

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/notify/notifytest"
)

type collect struct {
	mu   sync.Mutex
	msgs []notify.Message
}

func (c *collect) Notify(_ context.Context, m *notify.Message) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, *m)
	return false, nil
}

// A Slack workspace that revoked our token: the notifier does not retry,
// tells the other receiver, and never writes the token anywhere.
func TestRevokedTokenBecomesAgentHealthAlertWithoutLeakingIt(t *testing.T) {
	const token = "xoxb-revoked-0000-secret"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
	}))
	defer srv.Close()
	var logs bytes.Buffer
	clk := clock.NewVirtual(notifytest.Now, 0)
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{Key: make([]byte, 32), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mail := &collect{}
	n, err := notify.New(notify.Options{
		DB: db, Clock: clk, GroupWindow: time.Minute, Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Receivers: []notify.Receiver{
			{Name: "slack", Type: "slack", Integration: NewBot(&Config{BotToken: secret.New(token), Channel: "C1", APIURL: srv.URL + "/api/"}, srv.Client())},
			{Name: "mail", Type: "email", Integration: mail},
		},
		Routes: []notify.Route{{Receiver: "slack"}, {Receiver: "mail"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := notifytest.Firing().Alerts[0].Finding
	if err := n.Evaluate(f.TenantID, []health.Finding{f}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clk.Advance(time.Minute)
		_ = n.Tick()
		n.Flush(context.Background())
	}
	if len(n.Outbox()) != 0 {
		t.Fatalf("a rejected message was kept for retry: %+v", n.Outbox())
	}
	var kinds []string
	for _, m := range mail.msgs {
		kinds = append(kinds, string(m.Kind))
		for _, a := range m.Alerts {
			if strings.Contains(a.Finding.Summary+strings.Join(a.Finding.Evidence, " "), token) {
				t.Errorf("token in the agent-health alert: %+v", a.Finding)
			}
		}
	}
	if strings.Join(kinds, ",") != "predicted_break,agent_health" {
		t.Fatalf("mail received kinds %v, want the alert and the agent-health alert", kinds)
	}
	if ev := mail.msgs[1].Alerts[0].Finding.Evidence[0]; ev != "last slack delivery error: slack answered invalid_auth" {
		t.Errorf("evidence = %q", ev)
	}
	if strings.Contains(logs.String(), token) || !strings.Contains(logs.String(), "invalid_auth") {
		t.Errorf("logs leak the token or omit the cause:\n%s", logs.String())
	}
}
