// Package health holds the one model every output renders: findings about a
// tenant's delegated token and the tenant state derived from them. The probe
// and the policy engine produce findings; alerts, the local API, the CLI,
// logs and metrics only read them, so they cannot disagree.
package health

import (
	"time"
)

// Severity orders findings for routing and for the tenant state.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Rank gives severities a total order (higher is worse).
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

// Kind says what a finding is about. Alert keys are (tenant, kind, policy).
type Kind string

const (
	// KindTokenFailing: the canary refresh token no longer redeems (definitive).
	KindTokenFailing Kind = "token_failing"
	// KindTenantUnreachable: transient failures past the debounce.
	KindTenantUnreachable Kind = "tenant_unreachable"
	// KindPredictedBreak: a clock (sign-in frequency, password expiry,
	// remember-MFA, inactivity) will break the token at PredictedAt.
	KindPredictedBreak Kind = "predicted_break"
	// KindPolicyBreaksNow: an enabled policy covers the account with a
	// control a refresh cannot satisfy (block, MFA without the claim, ...).
	KindPolicyBreaksNow Kind = "policy_breaks_now"
	// KindReportOnlyRisk: a report-only policy would break the token once enabled.
	KindReportOnlyRisk Kind = "report_only_risk"
	// KindPolicyDrift: a policy change newly covers the account with a breaking control.
	KindPolicyDrift Kind = "policy_drift"
	// KindWhatIfDisagreement: Microsoft's What If API disagrees with the local evaluator.
	KindWhatIfDisagreement Kind = "whatif_disagreement"
	// KindGraphAccess: Graph cannot be read (missing permission or licence).
	KindGraphAccess Kind = "graph_access"
	// KindIdPUnreachable: the identity provider is unreachable for most
	// tenants at once; it inhibits per-tenant transient alerts.
	KindIdPUnreachable Kind = "idp_unreachable"
	// KindAgentHealth: the agent's own problems (receiver rejects credentials,
	// disk full, invalid reloaded config).
	KindAgentHealth Kind = "agent_health"
)

// PolicyRef names a Conditional Access policy as the tenant shows it.
type PolicyRef struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	State       string `json:"state,omitempty"`
}

// Finding is the single shape exchanged between producers (probe, policy
// engine, agent) and consumers (alerts, API, CLI, metrics).
type Finding struct {
	TenantID   string      `json:"tenantId"`
	TenantName string      `json:"tenantName"`
	Kind       Kind        `json:"kind"`
	Severity   Severity    `json:"severity"`
	Cause      string      `json:"cause,omitempty"` // a probe cause such as ca_sign_in_frequency
	Summary    string      `json:"summary"`         // one line, plain words
	Policies   []PolicyRef `json:"policies,omitempty"`
	Evidence   []string    `json:"evidence,omitempty"`
	// PredictedAt is when the token breaks (zero when it is not a prediction).
	PredictedAt time.Time `json:"predictedAt,omitzero"`
	Remediation []string  `json:"remediation,omitempty"`
	DetectedAt  time.Time `json:"detectedAt"`
}

// Key identifies a finding across evaluations: the same problem found again
// keeps the same key, so alerts are not repeated.
func (f Finding) Key() string {
	pol := ""
	if len(f.Policies) > 0 {
		pol = f.Policies[0].ID
	}
	return f.TenantID + "/" + string(f.Kind) + "/" + pol
}
