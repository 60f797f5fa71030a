// Package localapi is the daemon's HTTP API on a unix socket and the client
// the CLI uses to reach it. The socket file's mode (0660) and group decide
// who may connect; the peer's credentials decide who may change anything.
//
// The JSON shapes here are the stable schema of `--json` output: add fields,
// never rename or remove them.
package localapi

import (
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

// StatusResponse is GET /v1/status and `tokenhealth status --json`.
type StatusResponse struct {
	Tenants []health.TenantStatus `json:"tenants"`
	// Agent carries the daemon's own condition (config reload errors,
	// identity provider reachability), so monitoring sees it too.
	Agent AgentStatus `json:"agent"`
}

// AgentStatus describes the daemon itself.
type AgentStatus struct {
	Version        string    `json:"version"`
	StartedAt      time.Time `json:"startedAt"`
	ConfigFile     string    `json:"configFile"`
	ConfigLoadedAt time.Time `json:"configLoadedAt"`
	// ConfigError is set when the last reload was refused; the daemon keeps
	// running on the previous configuration.
	ConfigError    string   `json:"configError,omitempty"`
	IdPUnreachable bool     `json:"idpUnreachable"`
	Problems       []string `json:"problems"`
}

// Clock is one of the clocks behind a prediction.
type Clock struct {
	Name     string    `json:"name"` // e.g. sign_in_frequency, inactivity, password_expiry, remember_mfa
	Start    time.Time `json:"start,omitzero"`
	Deadline time.Time `json:"deadline,omitzero"`
	Source   string    `json:"source,omitempty"` // where Start came from (auth_time, enrollment, 70043, sign-in log)
	Note     string    `json:"note,omitempty"`
}

// ProbeEvent is one probe attempt in a tenant's timeline.
type ProbeEvent struct {
	Time          time.Time         `json:"time"`
	Outcome       string            `json:"outcome"` // ok, definitive, transient
	LatencyMS     float64           `json:"latencyMs"`
	Codes         []int             `json:"codes"`
	Cause         string            `json:"cause,omitempty"`
	Error         string            `json:"error,omitempty"`
	SubError      string            `json:"suberror,omitempty"`
	TraceID       string            `json:"traceId,omitempty"`
	CorrelationID string            `json:"correlationId,omitempty"`
	Values        map[string]string `json:"values,omitempty"`
	Message       string            `json:"message,omitempty"`
}

// Enrollment summarises how the canary token was obtained.
type Enrollment struct {
	At                time.Time `json:"at"`
	Method            string    `json:"method"`     // deviceCode, authorizationCode, confidential
	ClientType        string    `json:"clientType"` // public, confidential
	Account           string    `json:"account"`    // UPN
	TokenHasMFA       bool      `json:"tokenHasMfa"`
	InteractiveSignIn time.Time `json:"interactiveSignIn"`
	SignInSource      string    `json:"signInSource"`
	GrantedScopes     []string  `json:"grantedScopes,omitempty"`
}

// Explanation is GET /v1/tenants/{id}/explain: the full story of a tenant.
type Explanation struct {
	Tenant      health.TenantStatus `json:"tenant"`
	ServiceUPN  string              `json:"serviceAccount"`
	Tags        []string            `json:"tags"`
	Enrollment  *Enrollment         `json:"enrollment,omitempty"`
	Clocks      []Clock             `json:"clocks"`
	Timeline    []ProbeEvent        `json:"timeline"`
	Remediation []string            `json:"remediation"`
	PoliciesAt  time.Time           `json:"policiesReadAt,omitzero"`
}

// HistoryResponse is GET /v1/tenants/{id}/history.
type HistoryResponse struct {
	TenantID string       `json:"tenantId"`
	Probes   []ProbeEvent `json:"probes"`
}

// PolicyEvaluation is one policy as evaluated for the tenant's service
// account; the fields follow `policies analyze --json`.
type PolicyEvaluation struct {
	ID                     string   `json:"id"`
	DisplayName            string   `json:"displayName"`
	State                  string   `json:"state"`
	Applies                *bool    `json:"applies"`
	Reasons                []string `json:"reasons"`
	Impact                 string   `json:"impact"`
	SignInFrequencySeconds int64    `json:"signInFrequencySeconds,omitempty"`
	Remediation            string   `json:"remediation,omitempty"`
}

// PoliciesResponse is GET /v1/tenants/{id}/policies.
type PoliciesResponse struct {
	TenantID string             `json:"tenantId"`
	ReadAt   time.Time          `json:"readAt,omitzero"`
	Policies []PolicyEvaluation `json:"policies"`
	Problems []string           `json:"problems"`
}

// CheckResponse is POST /v1/tenants/{id}/check: one probe run now.
type CheckResponse struct {
	Probe  ProbeEvent          `json:"probe"`
	Tenant health.TenantStatus `json:"tenant"`
}

// Silence is the notifier's silence, as stored in the state file.
type Silence = notify.Silence

// SilenceRequest is POST /v1/silences.
type SilenceRequest struct {
	TenantID string        `json:"tenantId"`
	Kind     string        `json:"kind,omitempty"`
	Duration time.Duration `json:"duration"`
	Reason   string        `json:"reason"`
	// Author is who the client says is acting (e.g. SUDO_USER); the
	// daemon records it next to the peer's real user, never instead of it.
	Author string `json:"author,omitempty"`
}

// BackupRequest is POST /v1/db/backup: a hot backup written by the daemon.
type BackupRequest struct {
	Path string `json:"path"`
}

// ErrorResponse is the body of every non-2xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
}
