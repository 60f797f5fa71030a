package notify

import (
	"context"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// Status says whether a message announces a problem or its end.
type Status string

const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Reason says why a message is sent now; it is shown to the reader so a
// repeat is never mistaken for a new problem.
type Reason string

const (
	ReasonNew       Reason = "new"
	ReasonEscalated Reason = "escalated"
	ReasonRepeat    Reason = "repeat"
	ReasonResolved  Reason = "resolved"
	ReasonTest      Reason = "test"
)

// Alert is one finding as a receiver sees it.
type Alert struct {
	// Key is stable across evaluations: tenant, kind, policy (AlertKey).
	Key      string          `json:"key"`
	Status   Status          `json:"status"`
	Severity health.Severity `json:"severity"`
	Finding  health.Finding  `json:"finding"`
	// StartsAt is when the alert first fired; EndsAt when it resolved.
	StartsAt time.Time `json:"startsAt"`
	EndsAt   time.Time `json:"endsAt,omitzero"`
}

// Message is one notification to one receiver: one alert, or a group of
// alerts of the same kind from several tenants. It is what the outbox
// stores, so its JSON shape is durable state.
type Message struct {
	// ID is unique per notification and is the idempotency key a receiver
	// can use to drop a redelivery.
	ID       string          `json:"id"`
	Receiver string          `json:"receiver"`
	Status   Status          `json:"status"`
	Reason   Reason          `json:"reason"`
	Kind     health.Kind     `json:"kind"`
	Severity health.Severity `json:"severity"` // the worst of Alerts
	Alerts   []Alert         `json:"alerts"`
	// CreatedAt is when the notifier decided to send.
	CreatedAt time.Time `json:"createdAt"`
	// ThreadOf is the ID of the firing message a resolved (or repeated)
	// message answers, so integrations with threads can reply under it.
	ThreadOf string `json:"threadOf,omitempty"`

	// ThreadRef is filled by the dispatcher before Notify with what the
	// integration recorded for ThreadOf (a Slack "channel/ts", an e-mail
	// Message-ID). Empty when there is nothing to thread under.
	ThreadRef string `json:"-"`
	// PostedRef is set by an integration after a successful send to what a
	// later message needs to thread under this one.
	PostedRef string `json:"-"`
	// Now is the time of the delivery attempt; relative times ("in 1 d 4 h")
	// are rendered against it.
	Now time.Time `json:"-"`
}

// Tenants returns the distinct tenants of the message in alert order.
func (m *Message) Tenants() []health.Finding {
	seen := map[string]bool{}
	var out []health.Finding
	for _, a := range m.Alerts {
		if seen[a.Finding.TenantID] {
			continue
		}
		seen[a.Finding.TenantID] = true
		out = append(out, a.Finding)
	}
	return out
}

// Integration is implemented by every integration package. It sends msg once, with no
// retries of its own: the dispatcher retries when retry is true and gives
// up when it is false (bad request, rejected credentials, unknown channel).
type Integration interface {
	Notify(ctx context.Context, msg *Message) (retry bool, err error)
}

// Delivery says how a receiver wants alerts.
type Delivery int

const (
	// Grouped receivers (chat, e-mail, webhooks) get one message per change,
	// grouped across tenants, repeated at the repeat interval.
	Grouped Delivery = iota
	// PerAlert receivers (Alertmanager) get every firing alert on its own,
	// re-sent at the resend interval, and do their own dedup and grouping.
	PerAlert
)

// Receiver is a named, configured integration.
type Receiver struct {
	Name string
	// Type names the integration for metrics ("slack", "email", ...).
	Type        string
	Integration Integration
	Delivery    Delivery
}
