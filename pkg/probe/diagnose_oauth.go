package probe

// oauthErrors are the OAuth 2.0 / OIDC / device-flow `error` values
// (RFC 6749 5.2, RFC 8628 3.5, OIDC Core 3.1.2.6, plus Entra's additions).
// They decide only when no AADSTS code does.
var oauthErrors = map[string]codeInfo{
	"invalid_grant": {cause: CauseOther, verdict: definitive, reEnroll: yes,
		explanation: "The identity provider rejected the refresh token (invalid_grant) without a code saying why."},
	"interaction_required": {cause: CauseOther, verdict: definitive, reEnroll: yes,
		explanation: "The identity provider requires an interactive sign-in (interaction_required) without a code saying why."},
	"login_required": {cause: CauseOther, verdict: definitive, reEnroll: yes,
		explanation: "The identity provider requires the user to sign in again (login_required)."},
	"account_selection_required": {cause: CauseOther, verdict: definitive, reEnroll: yes,
		explanation: "The identity provider requires the user to pick an account interactively."},
	"consent_required": {cause: CauseConsentRequired, verdict: definitive,
		explanation: "The application needs consent for a requested permission (consent_required)."},
	"invalid_client": {cause: CauseInvalidClientCredentials, verdict: definitive,
		explanation: "Client authentication failed (invalid_client): the secret or certificate is wrong, expired or missing."},
	"unauthorized_client": {cause: CauseOther, verdict: definitive,
		explanation: "The client is not allowed to use this grant type (unauthorized_client)."},
	"access_denied": {cause: CauseOther, verdict: definitive, reEnroll: yes,
		explanation: "The user or a policy denied the request (access_denied)."},
	"authorization_declined": {cause: CauseOther, verdict: definitive, reEnroll: yes,
		explanation: "The person signing in declined the device-code request (authorization_declined).",
		remediation: "Run the enrollment again and approve the sign-in."},
	"expired_token": {cause: CauseOther, verdict: definitive, reEnroll: yes,
		explanation: "The device code expired before the sign-in was completed (expired_token).",
		remediation: "Run the enrollment again and complete the sign-in within the code's lifetime (15 minutes)."},
	"bad_verification_code": {cause: CauseOther, verdict: definitive, reEnroll: yes,
		explanation: "The device code was not recognised (bad_verification_code).",
		remediation: "Run the enrollment again."},
	"authorization_pending": {cause: CauseTransient, verdict: transient,
		explanation: "The device-code sign-in has not been completed yet (authorization_pending)."},
	"slow_down": {cause: CauseTransient, verdict: transient,
		explanation: "The client polled the token endpoint too fast (slow_down)."},
	"temporarily_unavailable": {cause: CauseTransient, verdict: transient,
		explanation: "The identity provider is temporarily unavailable (temporarily_unavailable)."},
	"server_error": {cause: CauseTransient, verdict: transient,
		explanation: "The identity provider hit an internal error (server_error)."},
	"invalid_request": {cause: CauseOther, verdict: definitive,
		explanation: "The token request was malformed (invalid_request)."},
	"invalid_scope": {cause: CauseOther, verdict: definitive,
		explanation: "A requested scope is invalid (invalid_scope)."},
	"unsupported_grant_type": {cause: CauseOther, verdict: definitive,
		explanation: "The grant type is not supported for this client (unsupported_grant_type)."},
	"invalid_resource": {cause: CauseAppNotFound, verdict: definitive,
		explanation: "The requested resource is invalid or not present in the tenant (invalid_resource)."},
}

// subErrors refine a failure when no code decides. Most Entra suberrors
// (basic_action, additional_action, message_only, bad_token, token_expired,
// client_mismatch) only say what kind of UI would fix it: they carry no cause.
var subErrors = map[string]codeInfo{
	"user_password_expired": {cause: CausePasswordExpired, verdict: definitive,
		explanation: "The account's password has expired (suberror user_password_expired)."},
	"consent_required": {cause: CauseConsentRequired, verdict: definitive,
		explanation: "The application needs consent for a requested permission (suberror consent_required)."},
	"protection_policy_required": {cause: CauseCABlocked, verdict: definitive,
		explanation: "Conditional Access requires an app protection policy (suberror protection_policy_required)."},
}
