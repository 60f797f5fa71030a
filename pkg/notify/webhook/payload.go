package webhook

import (
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

// SchemaVersion is the "version" field of every body; SCHEMA.md documents
// it. Fields are only ever added within a version.
const SchemaVersion = "1"

// Payload is the JSON body, schema version 1.
type Payload struct {
	Version  string          `json:"version"`
	ID       string          `json:"id"`
	Receiver string          `json:"receiver"`
	Status   notify.Status   `json:"status"`
	Reason   notify.Reason   `json:"reason"`
	Kind     health.Kind     `json:"kind"`
	Severity health.Severity `json:"severity"`
	Title    string          `json:"title"`
	ThreadOf string          `json:"threadOf,omitempty"`
	SentAt   time.Time       `json:"sentAt"`
	Alerts   []PayloadAlert  `json:"alerts"`
}

// PayloadTenant identifies a customer tenant.
type PayloadTenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PayloadAlert is one alert of the body.
type PayloadAlert struct {
	Key            string             `json:"key"`
	Status         notify.Status      `json:"status"`
	Severity       health.Severity    `json:"severity"`
	Tenant         PayloadTenant      `json:"tenant"`
	Kind           health.Kind        `json:"kind"`
	Cause          string             `json:"cause,omitempty"`
	Summary        string             `json:"summary"`
	When           string             `json:"when"`
	Policies       []health.PolicyRef `json:"policies"`
	Evidence       []string           `json:"evidence"`
	Remediation    []string           `json:"remediation"`
	PredictedAt    *time.Time         `json:"predictedAt,omitempty"`
	DetectedAt     *time.Time         `json:"detectedAt,omitempty"`
	StartsAt       time.Time          `json:"startsAt"`
	EndsAt         *time.Time         `json:"endsAt,omitempty"`
	ExplainCommand string             `json:"explainCommand"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// NewPayload maps a message to the versioned body. encoding/json escapes
// every tenant-controlled string; consumers must treat them as text.
func NewPayload(m *notify.Message) Payload {
	p := Payload{
		Version: SchemaVersion, ID: m.ID, Receiver: m.Receiver, Status: m.Status, Reason: m.Reason,
		Kind: m.Kind, Severity: m.Severity, Title: notify.Title(m), ThreadOf: m.ThreadOf, SentAt: m.Now.UTC(),
		Alerts: make([]PayloadAlert, 0, len(m.Alerts)),
	}
	for _, a := range m.Alerts {
		f := a.Finding
		p.Alerts = append(p.Alerts, PayloadAlert{
			Key: a.Key, Status: a.Status, Severity: a.Severity,
			Tenant: PayloadTenant{ID: f.TenantID, Name: f.TenantName},
			Kind:   f.Kind, Cause: f.Cause, Summary: f.Summary, When: notify.When(a, m.Now),
			Policies: orEmpty(f.Policies), Evidence: orEmpty(f.Evidence), Remediation: orEmpty(f.Remediation),
			PredictedAt: timePtr(f.PredictedAt), DetectedAt: timePtr(f.DetectedAt),
			StartsAt: a.StartsAt.UTC(), EndsAt: timePtr(a.EndsAt),
			ExplainCommand: notify.ExplainCommand(f.TenantID),
		})
	}
	return p
}
