package config

import (
	"reflect"

	"github.com/tokenhealth/tokenhealth/pkg/notify/alertmanager"
	"github.com/tokenhealth/tokenhealth/pkg/notify/email"
	"github.com/tokenhealth/tokenhealth/pkg/notify/slack"
	"github.com/tokenhealth/tokenhealth/pkg/notify/teams"
	"github.com/tokenhealth/tokenhealth/pkg/notify/webhook"
)

// Receiver is one named alert destination. Exactly one integration is set;
// each integration's configuration type lives in its own package and
// validates itself.
type Receiver struct {
	Name         string               `yaml:"name"`
	Slack        *slack.Config        `yaml:"slack,omitempty"`
	SlackWebhook *slack.WebhookConfig `yaml:"slack_webhook,omitempty"`
	Email        *email.Config        `yaml:"email,omitempty"`
	Webhook      *webhook.Config      `yaml:"webhook,omitempty"`
	Teams        *teams.Config        `yaml:"teams,omitempty"`
	Alertmanager *alertmanager.Config `yaml:"alertmanager,omitempty"`
}

// integrationValidator is what every integration Config implements: its
// problems, each error text starting with "PATH.field: ".
type integrationValidator interface {
	Validate(path string) []error
}

// integration is one configured integration of a receiver.
type integration struct {
	key   string // yaml key, e.g. "slack_webhook"
	value reflect.Value
}

// integrations lists the receiver's non-nil integration pointers. Walking
// the struct keeps this correct when an integration is added.
func (r *Receiver) integrations() []integration {
	var out []integration
	v := reflect.ValueOf(r).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		name, _ := yamlName(v.Type().Field(i))
		out = append(out, integration{key: name, value: f})
	}
	return out
}

// integrationKeys lists every integration key a receiver accepts.
func integrationKeys() []string {
	var keys []string
	t := reflect.TypeFor[Receiver]()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Type.Kind() == reflect.Pointer {
			name, _ := yamlName(t.Field(i))
			keys = append(keys, name)
		}
	}
	return keys
}

// Kind returns the yaml key of the receiver's integration ("slack", ...),
// or "" when none or several are set (which validation refuses).
func (r *Receiver) Kind() string {
	if in := r.integrations(); len(in) == 1 {
		return in[0].key
	}
	return ""
}
