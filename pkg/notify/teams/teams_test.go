package teams

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/notify/notifytest"
)

func TestEscapeNeutralisesMarkdown(t *testing.T) {
	cases := map[string]string{
		"plain text":                    "plain text",
		"*bold* _it_":                   `\*bold\* \_it\_`,
		"[click](https://evil.example)": `\[click\]\(https://evil.example\)`,
		"<at>Admin</at>":                `\<at\>Admin\</at\>`,
		"# heading":                     `\# heading`,
	}
	for in, want := range cases {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWorkflowsWebhookGetsAdaptiveCard(t *testing.T) {
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "content type", http.StatusBadRequest)
			return
		}
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	tm := New(&Config{WebhookURL: secret.New(srv.URL + "/workflows/abc?sig=secret")}, srv.Client())
	if _, err := tm.Notify(context.Background(), notifytest.Firing()); err != nil {
		t.Fatal(err)
	}
	var card struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string           `json:"type"`
				Version string           `json:"version"`
				Body    []map[string]any `json:"body"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &card); err != nil {
		t.Fatal(err)
	}
	if card.Type != "message" || len(card.Attachments) != 1 || card.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" {
		t.Fatalf("envelope: %s", body)
	}
	c := card.Attachments[0].Content
	if c.Type != "AdaptiveCard" || c.Version != "1.4" || len(c.Body) != 4 { // title, 2 tenants, footer
		t.Fatalf("card: type=%s version=%s body=%d", c.Type, c.Version, len(c.Body))
	}
	text := notifytest.Strings(t, body)
	for _, want := range []string{`Contoso \<!channel\> & Sons`, `\<script\>alert\(1\)\</script\>`, `\*\[click\]\(https://evil.example\)\*`, "in 1 d 4 h", "tokenhealth explain 6f1c2d3e-0000"} {
		if !strings.Contains(text, want) {
			t.Errorf("card text lacks %q", want)
		}
	}
	notifytest.Golden(t, "teams_firing_card.json", notifytest.PrettyJSON(t, body))
}

func TestWorkflowsErrorsHideTheURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	retry, err := New(&Config{WebhookURL: secret.New(srv.URL + "/gone?sig=secret")}, srv.Client()).Notify(context.Background(), notifytest.Firing())
	var ne *notify.Error
	if retry || !errors.As(err, &ne) || !ne.AgentHealth {
		t.Fatalf("deleted workflow: retry=%v err=%v", retry, err)
	}
	retry, err = New(&Config{WebhookURL: secret.New("http://127.0.0.1:1/x?sig=secret")}, nil).Notify(context.Background(), notifytest.Firing())
	if !retry || strings.Contains(err.Error(), "secret") {
		t.Fatalf("unreachable: retry=%v err=%v", retry, err)
	}
}
