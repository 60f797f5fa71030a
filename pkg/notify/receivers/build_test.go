package receivers

import (
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/notify/alertmanager"
	"github.com/tokenhealth/tokenhealth/pkg/notify/email"
	"github.com/tokenhealth/tokenhealth/pkg/notify/slack"
	"github.com/tokenhealth/tokenhealth/pkg/notify/teams"
	"github.com/tokenhealth/tokenhealth/pkg/notify/webhook"
)

func TestOptionsFromConfig(t *testing.T) {
	cfg := &config.Config{
		Global: config.Global{
			AlertWarningLead: config.Duration(48 * time.Hour), AlertCriticalLead: config.Duration(12 * time.Hour),
			RepeatInterval: config.Duration(2 * time.Hour), GroupWindow: config.Duration(30 * time.Second),
		},
		Tenants: []config.Tenant{{ID: "t1", Name: "Contoso", Tags: []string{"gold"}}},
		Receivers: []config.Receiver{
			{Name: "s", Slack: &slack.Config{BotToken: secret.New("xoxb-1"), Channel: "C1"}},
			{Name: "sw", SlackWebhook: &slack.WebhookConfig{URL: secret.New("https://hooks.slack.com/services/x")}},
			{Name: "e", Email: &email.Config{Smarthost: "smtp.example.com:587", From: "a@b.example", To: []string{"c@d.example"}}},
			{Name: "w", Webhook: &webhook.Config{URL: "https://hooks.example/x"}},
			{Name: "t", Teams: &teams.Config{WebhookURL: secret.New("https://teams.example/x")}},
			{Name: "am", Alertmanager: &alertmanager.Config{URL: "http://127.0.0.1:9093"}},
		},
		Routes: []config.Route{{Receiver: "s", Severities: []health.Severity{health.SeverityCritical}, Tags: []string{"gold"}}},
	}
	o, err := Options(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, typ string
		delivery  notify.Delivery
	}{{"s", "slack", notify.Grouped}, {"sw", "slack", notify.Grouped}, {"e", "email", notify.Grouped},
		{"w", "webhook", notify.Grouped}, {"t", "teams", notify.Grouped}, {"am", "alertmanager", notify.PerAlert}}
	if len(o.Receivers) != len(want) {
		t.Fatalf("%d receivers", len(o.Receivers))
	}
	for i, w := range want {
		r := o.Receivers[i]
		if r.Name != w.name || r.Type != w.typ || r.Delivery != w.delivery || r.Integration == nil {
			t.Errorf("receiver %d = %+v, want %+v", i, r, w)
		}
	}
	if o.WarningLead != 48*time.Hour || o.CriticalLead != 12*time.Hour || o.RepeatInterval != 2*time.Hour || o.GroupWindow != 30*time.Second {
		t.Errorf("timing: %s %s %s %s", o.WarningLead, o.CriticalLead, o.RepeatInterval, o.GroupWindow)
	}
	if len(o.Routes) != 1 || o.Routes[0].Receiver != "s" || o.Routes[0].Tags[0] != "gold" {
		t.Errorf("routes: %+v", o.Routes)
	}
	if ti, ok := o.Tenants("t1"); !ok || ti.Name != "Contoso" || ti.Tags[0] != "gold" {
		t.Errorf("tenant lookup: %+v %v", ti, ok)
	}
	if _, err := Build(config.Receiver{Name: "empty"}, Deps{}); err == nil {
		t.Error("a receiver without integration was built")
	}
}
