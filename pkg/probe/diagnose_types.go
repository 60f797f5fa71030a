// Package probe keeps each tenant's canary delegated token alive and says,
// when a refresh fails, why it failed.
//
// The classifier in the diagnose_*.go files turns any error text a person
// might paste (a token-endpoint body, an MSAL exception from any language, a
// Go oauth2 string, a SharePoint or Graph OData wrapper, escaped or
// URL-encoded JSON, an HTML sign-in page) or any error the MSAL Go client
// returns into a Diagnosis. It is pure: no I/O, no clock, no globals that
// change, so the same input always gives the same output.
//
// Classifier entry points:
//
//	Diagnose(text) / DiagnoseError(err)       classify
//	Hints{...}.Diagnose / .DiagnoseError      classify with what the caller knows
//	ParseAADError(err)                        structured fields of an MSAL CallErr
//	RedactCredentials(s)                      free text with tokens and secrets cut out
//	LookupURLFor(code)                        Microsoft's page for an AADSTS code
//
// Diagnosis.Values keys are the Value* constants.
package probe

// Cause names why a token request failed, in terms an operator can act on.
// The set is closed: every Diagnosis carries exactly one of these values.
type Cause string

const (
	// CauseSignInFrequency: a Conditional Access sign-in frequency limit
	// expired; only a new interactive sign-in resets that clock.
	CauseSignInFrequency Cause = "ca_sign_in_frequency"
	// CauseMFARequired: a policy or per-user MFA now demands an MFA claim
	// the stored token does not carry.
	CauseMFARequired Cause = "ca_mfa_required"
	// CauseCABlocked: a Conditional Access policy blocks token issuance.
	CauseCABlocked Cause = "ca_blocked"
	// CauseDeviceCompliance: a policy requires a compliant, managed or
	// domain-joined device, which a server-side daemon cannot present.
	CauseDeviceCompliance Cause = "ca_device_compliance"
	// CauseMFAExpiredRemember: the MFA presented earlier expired, typically
	// the per-user "remember MFA on trusted devices" period.
	CauseMFAExpiredRemember Cause = "mfa_expired_remember"
	// CausePasswordChanged: a password change or reset revoked the token.
	CausePasswordChanged Cause = "password_changed_or_reset"
	// CausePasswordExpired: the account's password expired.
	CausePasswordExpired Cause = "password_expired"
	// CauseRefreshTokenInactive: the refresh token was not used within its
	// inactivity window (90 days by default) or outlived a fixed lifetime.
	CauseRefreshTokenInactive Cause = "refresh_token_inactive"
	// CauseTokenRevoked: an admin or the user revoked the sessions.
	CauseTokenRevoked Cause = "token_revoked"
	// CauseAccountDisabled: the account is disabled.
	CauseAccountDisabled Cause = "account_disabled"
	// CauseAccountLocked: the account is locked (smart lockout, risky IP).
	CauseAccountLocked Cause = "account_locked"
	// CauseConsentRequired: the app lacks consent for a requested permission.
	CauseConsentRequired Cause = "consent_required"
	// CauseAppNotFound: the client or resource application is missing or
	// disabled in the tenant.
	CauseAppNotFound Cause = "app_not_found"
	// CauseTenantNotFound: the tenant does not exist (any more).
	CauseTenantNotFound Cause = "tenant_not_found"
	// CauseInvalidClientCredentials: a confidential client's secret or
	// certificate is wrong or expired.
	CauseInvalidClientCredentials Cause = "invalid_client_credentials"
	// CauseTransient: throttling, outage, timeout or network failure; retry.
	CauseTransient Cause = "transient"
	// CauseOther: recognised but none of the above, or not recognised.
	CauseOther Cause = "other"
)

// Causes lists every Cause value in a stable order (for docs, metrics labels
// and validation).
var Causes = []Cause{
	CauseSignInFrequency, CauseMFARequired, CauseCABlocked, CauseDeviceCompliance,
	CauseMFAExpiredRemember, CausePasswordChanged, CausePasswordExpired,
	CauseRefreshTokenInactive, CauseTokenRevoked, CauseAccountDisabled,
	CauseAccountLocked, CauseConsentRequired, CauseAppNotFound, CauseTenantNotFound,
	CauseInvalidClientCredentials, CauseTransient, CauseOther,
}

// Diagnosis is the classifier's verdict on one error. Its JSON shape is part
// of the CLI contract (`tokenhealth diagnose --json`): Codes and Values are
// never null.
type Diagnosis struct {
	// Codes are the AADSTS codes found, deduplicated, in order of appearance.
	Codes []int `json:"codes"`
	// Cause is the single most specific cause among everything found.
	Cause Cause `json:"cause"`
	// Definitive: retrying cannot succeed; re-enrollment or an admin change
	// is needed. Never true together with Transient.
	Definitive bool `json:"definitive"`
	// Transient: the failure says nothing about the token; retry later.
	Transient bool `json:"transient"`
	// Explanation says in plain words what happened, with the values the
	// error carried (issue time, limit, ...).
	Explanation string `json:"explanation"`
	// Remediation says what to change in the tenant and whether to re-enroll.
	Remediation string `json:"remediation"`
	// ReEnroll: the stored token is dead; after fixing the cause, run
	// `tokenhealth enroll` again.
	ReEnroll bool `json:"reEnroll"`
	// Values holds facts the text carried: issuedAt, maxLifetimeSeconds,
	// inactiveFor, tokensValidFrom, resourceId, appId, tenant, traceId,
	// correlationId, requestId, timestamp, httpStatus, ... Never a token.
	Values map[string]string `json:"values"`
	// LookupURL is Microsoft's page for the deciding code.
	LookupURL string `json:"lookupUrl,omitempty"`
	// Error and SubError are the OAuth `error` and `suberror` when present.
	Error    string `json:"error,omitempty"`
	SubError string `json:"suberror,omitempty"`
}

// Recognized reports whether the input contained anything the classifier
// understood (a code, an OAuth error, an HTTP failure status, a Graph error
// or a network failure). An unrecognised input still yields CauseOther.
func (d Diagnosis) Recognized() bool {
	return len(d.Codes) > 0 || d.Error != "" || d.Transient ||
		d.Values[ValueHTTPStatus] >= "400" || d.Values[ValueGraphError] != "" || d.Values[ValueNetwork] != ""
}

// Keys of Diagnosis.Values. Other packages should use these names rather
// than string literals.
const (
	ValueIssuedAt           = "issuedAt"
	ValueMaxLifetimeSeconds = "maxLifetimeSeconds"
	ValueMaxLifetime        = "maxLifetime" // "1.00:00:00" style (SPA limit)
	ValueInactiveFor        = "inactiveFor" // "90.00:00:00" style
	ValueTokensValidFrom    = "tokensValidFrom"
	ValueResourceID         = "resourceId"
	ValueAppID              = "appId"
	ValueAppName            = "appName"
	ValueTenant             = "tenant"
	ValueTraceID            = "traceId"
	ValueCorrelationID      = "correlationId"
	ValueRequestID          = "requestId"
	ValueTimestamp          = "timestamp"
	ValueHTTPStatus         = "httpStatus"
	ValueErrorHost          = "errorHost" // host of error_uri: the cloud that answered
	ValueIPAddress          = "ipAddress"
	ValueGraphError         = "graphError"
	ValueAuthFlow           = "authenticationFlow" // "deviceCode" when the text or hints say so
	ValueNetwork            = "network"            // the network failure recognised
	ValueCAPolicyIDs        = "caPolicyIds"        // comma-separated, from a claims challenge's "capolids"
)
