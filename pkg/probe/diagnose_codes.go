package probe

// The tables below are the classifier's knowledge. Decisions are made on the
// AADSTS code first, the OAuth `error` second and `suberror` third; the
// description text Microsoft attaches is only mined for values (it changes
// over time). Sources: Entra's error-code reference
// (learn.microsoft.com/entra/identity-platform/reference-error-codes),
// https://login.microsoftonline.com/error?code=N, and the project's
// domain.md sections 2-3.

// verdict is what a failure means for the stored token.
type verdict uint8

const (
	undecided  verdict = iota // neither: look closer, do not mark the token dead
	definitive                // retrying cannot help: admin change or re-enrollment
	transient                 // says nothing about the token: retry later
)

// codeInfo describes one AADSTS code.
type codeInfo struct {
	cause   Cause
	verdict verdict
	// explanation is one sentence about what the code means; the cause's
	// remediation applies unless remediation is set.
	explanation string
	remediation string
	// reEnroll overrides the cause default when set.
	reEnroll *bool
}

var (
	yes = func() *bool { b := true; return &b }()
	no  = func() *bool { b := false; return &b }()
)

// causeInfo is what every code of a cause shares.
type causeInfo struct {
	rank        int // higher wins when several codes are present
	reEnroll    bool
	remediation string
}

const reEnrollHint = " Then re-enroll the canary (`tokenhealth enroll TENANT`) and re-authenticate the platform."

var causes = map[Cause]causeInfo{
	CauseCABlocked: {rank: 90, reEnroll: false, remediation: "Open the failed sign-in in the tenant's sign-in logs (search by the correlation id), " +
		"note the Conditional Access policy with result 'failure', and exclude the service account (or add the agent's egress IP " +
		"to a trusted named location) in that policy."},
	CauseDeviceCompliance: {rank: 85, reEnroll: false, remediation: "A server cannot present a compliant, managed or domain-joined device: " +
		"exclude the service account from the policy's device grant control (or from the policy)."},
	CauseAccountDisabled: {rank: 84, reEnroll: true, remediation: "Re-enable the service account (accountEnabled = true); disabling it revoked its refresh tokens." + reEnrollHint},
	CauseAccountLocked: {rank: 83, reEnroll: false, remediation: "Wait for the lockout to expire or unlock the account, and find what sends bad passwords " +
		"(or why the agent's IP is flagged); the token itself does not need re-enrollment."},
	CauseTenantNotFound: {rank: 82, reEnroll: false, remediation: "Check the tenant id in the agent's configuration and the cloud (global, US Gov, China): " +
		"the tenant does not exist there, or was deleted."},
	CauseAppNotFound: {rank: 81, reEnroll: true, remediation: "Check that the client application (and the resource API it calls) exists and is enabled in the tenant " +
		"under Enterprise applications, and that the request goes to the right tenant; restore or re-consent it." + reEnrollHint},
	CauseInvalidClientCredentials: {rank: 80, reEnroll: false, remediation: "Create a new client secret or certificate on the app registration and put the secret " +
		"value (not its id) into the agent's configuration; the user's token does not need re-enrollment."},
	CausePasswordChanged: {rank: 75, reEnroll: true, remediation: "The password change revoked the refresh tokens issued before it. Confirm the change was intended, " +
		"update the platform's stored credential if it uses the password, and exclude the service account from forced password changes." + reEnrollHint},
	CauseTokenRevoked: {rank: 74, reEnroll: true, remediation: "An admin, the user or a security tool revoked the account's sessions (revokeSignInSessions / " +
		"'Revoke sessions'). Confirm it was intended and who did it (audit log)." + reEnrollHint},
	CauseSignInFrequency: {rank: 70, reEnroll: true, remediation: "Exclude the service account from every Conditional Access policy with a Sign-in frequency " +
		"(or Persistent browser session) session control that covers it, or lengthen the frequency. Only a new interactive sign-in resets this clock." + reEnrollHint},
	CauseMFAExpiredRemember: {rank: 69, reEnroll: true, remediation: "Set per-user MFA 'remember multi-factor authentication on trusted devices' to 365 days " +
		"(it is incompatible with sign-in frequency policies), or exclude the service account from the MFA requirement." + reEnrollHint},
	CauseMFARequired: {rank: 68, reEnroll: true, remediation: "Either exclude the service account from the policy (or per-user MFA) that now requires MFA, " +
		"or accept it: re-enroll with MFA completed so the new token carries the MFA claim." + reEnrollHint},
	CausePasswordExpired: {rank: 67, reEnroll: true, remediation: "Set a new password for the service account and exempt it from password expiry " +
		"(Set-MgUser -PasswordPolicies DisablePasswordExpiration)." + reEnrollHint},
	CauseConsentRequired: {rank: 60, reEnroll: true, remediation: "Grant admin consent for the app's delegated permissions in the tenant " +
		"(Enterprise applications > the app > Permissions), so the new token carries the scopes." + reEnrollHint},
	CauseRefreshTokenInactive: {rank: 55, reEnroll: true, remediation: "The refresh token was not redeemed within its lifetime. Keep the platform's token in " +
		"regular use (the agent probes its own canary on schedule)." + reEnrollHint},
	CauseOther:     {rank: 20, reEnroll: false, remediation: "Look the code up at the link and open the failed sign-in in the tenant's sign-in logs by its correlation id."},
	CauseTransient: {rank: 10, reEnroll: false, remediation: "Nothing to change: the next scheduled probe retries. It becomes an alert only if it persists."},
}

// codes maps AADSTS numbers to what they mean for the stored token. Codes
// whose meaning depends on the words around them (50173, 70008, 70000) are
// refined in refineByText.
var codes = map[int]codeInfo{
	// Sign-in frequency (the interactive-authentication clock).
	70043: {cause: CauseSignInFrequency, verdict: definitive, explanation: "The refresh token expired under a Conditional Access sign-in frequency limit; the clock runs from the original interactive sign-in and refreshing does not reset it."},
	70044: {cause: CauseSignInFrequency, verdict: definitive, explanation: "The session expired under a Conditional Access sign-in frequency limit."},

	// Refresh-token lifetime (the inactivity clock).
	700082: {cause: CauseRefreshTokenInactive, verdict: definitive, explanation: "The refresh token expired through inactivity: it was not redeemed within the inactivity window (90 days by default)."},
	70008:  {cause: CauseRefreshTokenInactive, verdict: definitive, explanation: "The refresh token or authorization code expired through inactivity."},
	700084: {cause: CauseRefreshTokenInactive, verdict: definitive, explanation: "The refresh token was issued to a single-page-app (SPA) redirect URI and has a fixed lifetime (24 hours) that refreshing cannot extend.",
		remediation: "Register the client's redirect URI under 'Mobile and desktop applications' (public client) rather than 'Single-page application'." + reEnrollHint},

	// Password and revocation.
	50173: {cause: CausePasswordChanged, verdict: definitive, explanation: "The grant was revoked: the user's TokensValidFrom moved past the token's issue time."},
	50133: {cause: CausePasswordChanged, verdict: definitive, explanation: "The session is invalid because the password expired or was changed recently."},
	50132: {cause: CausePasswordChanged, verdict: definitive, explanation: "The session is invalid because the password expired or was changed recently."},
	50126: {cause: CausePasswordChanged, verdict: definitive, explanation: "Invalid username or password: the password presented is wrong (changed since it was stored, or mistyped)."},
	50055: {cause: CausePasswordExpired, verdict: definitive, explanation: "The account's password has expired."},
	50144: {cause: CausePasswordExpired, verdict: definitive, explanation: "The account's Active Directory password has expired."},

	// MFA.
	50076:  {cause: CauseMFARequired, verdict: definitive, explanation: "Multi-factor authentication is now required (a Conditional Access MFA grant, per-user MFA, or a new location) and the stored token carries no MFA claim."},
	50079:  {cause: CauseMFARequired, verdict: definitive, explanation: "The user must register for multi-factor authentication (MFA registration policy or per-user MFA turned on)."},
	50072:  {cause: CauseMFARequired, verdict: definitive, explanation: "The user must enroll a second authentication factor."},
	50074:  {cause: CauseMFARequired, verdict: definitive, explanation: "Strong authentication (MFA) is required."},
	50158:  {cause: CauseMFARequired, verdict: definitive, explanation: "An external security challenge (third-party MFA or a custom control) was not satisfied."},
	53004:  {cause: CauseMFARequired, verdict: definitive, explanation: "MFA registration is blocked because of risk; the user must complete MFA proof-up from a trusted context."},
	50078:  {cause: CauseMFAExpiredRemember, verdict: definitive, explanation: "The multi-factor authentication presented earlier has expired under the tenant's policy; this follows the per-user 'remember MFA on trusted devices' period (typically 7-14 days)."},
	500121: {cause: CauseMFARequired, verdict: definitive, explanation: "Strong authentication (MFA) failed or was not completed."},

	// Conditional Access blocks and device rules.
	53003:  {cause: CauseCABlocked, verdict: definitive, explanation: "Conditional Access blocked token issuance: a policy with a Block grant control (or requirements this sign-in cannot meet) covers the account, app, location or authentication flow."},
	530032: {cause: CauseCABlocked, verdict: definitive, explanation: "A tenant security policy blocked the request."},
	53011:  {cause: CauseCABlocked, verdict: definitive, explanation: "The user is blocked because of risk detected on their home tenant."},
	53002:  {cause: CauseCABlocked, verdict: definitive, explanation: "The client is not an approved application under Conditional Access."},
	53009:  {cause: CauseCABlocked, verdict: definitive, explanation: "Conditional Access requires an app protected by an app protection policy."},
	500021: {cause: CauseCABlocked, verdict: definitive, explanation: "Tenant restrictions (a proxy-inserted policy on the agent's network) deny access to this tenant.",
		remediation: "Allow this tenant in the network proxy's tenant-restrictions header (Restrict-Access-To-Tenants) for the agent's and the platform's egress."},
	53000:  {cause: CauseDeviceCompliance, verdict: definitive, explanation: "Conditional Access requires a compliant device, and the signing-in device is not compliant or not known."},
	530003: {cause: CauseDeviceCompliance, verdict: definitive, explanation: "Conditional Access requires a managed device."},
	53001:  {cause: CauseDeviceCompliance, verdict: definitive, explanation: "Conditional Access requires a domain-joined (hybrid joined) device."},
	50097:  {cause: CauseDeviceCompliance, verdict: definitive, explanation: "Device authentication is required."},
	50129:  {cause: CauseDeviceCompliance, verdict: definitive, explanation: "The device is not workplace-joined."},

	// Account state.
	50057:  {cause: CauseAccountDisabled, verdict: definitive, explanation: "The user account is disabled."},
	500571: {cause: CauseAccountDisabled, verdict: definitive, explanation: "The guest user account is disabled."},
	50053:  {cause: CauseAccountLocked, verdict: definitive, explanation: "The account is locked (too many failed sign-ins), or the sign-in came from an IP address flagged for malicious activity."},
	50034:  {cause: CauseOther, verdict: definitive, reEnroll: yes, explanation: "The user account does not exist in the directory (deleted or renamed).", remediation: "Restore the deleted service account (Deleted users) or configure the right one." + reEnrollHint},
	50105:  {cause: CauseOther, verdict: definitive, explanation: "The account is not assigned to the application and the enterprise application has 'Assignment required' on.", remediation: "Assign the service account to the enterprise application (Users and groups), or turn off 'Assignment required'."},
	700003: {cause: CauseOther, verdict: definitive, reEnroll: yes, explanation: "The device object the token is bound to was not found in the tenant (deleted).", remediation: "The device registration is gone, so its tokens are void." + reEnrollHint},

	// Consent and applications.
	65001:   {cause: CauseConsentRequired, verdict: definitive, explanation: "The user or administrator has not consented (or consent was removed) for the application to use the requested permissions."},
	65004:   {cause: CauseConsentRequired, verdict: definitive, explanation: "The user declined to consent to the application."},
	90094:   {cause: CauseConsentRequired, verdict: definitive, explanation: "Admin consent is required for the requested permissions."},
	700016:  {cause: CauseAppNotFound, verdict: definitive, explanation: "The application was not found in the tenant: deleted, never installed or consented there, or the request went to the wrong tenant."},
	7000112: {cause: CauseAppNotFound, verdict: definitive, explanation: "The application is disabled."},
	70001:   {cause: CauseAppNotFound, verdict: definitive, explanation: "The application is disabled or not allowed in this tenant."},
	500011:  {cause: CauseAppNotFound, verdict: definitive, explanation: "The resource (API) the token is for has no service principal in the tenant."},
	500014:  {cause: CauseAppNotFound, verdict: definitive, explanation: "The resource application's service principal is disabled in the tenant."},

	// Tenant.
	90002:  {cause: CauseTenantNotFound, verdict: definitive, explanation: "The tenant was not found (no such tenant in this cloud, or it was deleted)."},
	50059:  {cause: CauseTenantNotFound, verdict: definitive, explanation: "No tenant could be identified from the request."},
	900023: {cause: CauseTenantNotFound, verdict: definitive, explanation: "The tenant identifier is neither a valid DNS name nor a valid external domain."},

	// Client credentials (confidential clients).
	7000215: {cause: CauseInvalidClientCredentials, verdict: definitive, explanation: "The client secret is not valid (often the secret's id was configured instead of its value)."},
	7000222: {cause: CauseInvalidClientCredentials, verdict: definitive, explanation: "The client secret has expired."},
	700027:  {cause: CauseInvalidClientCredentials, verdict: definitive, explanation: "The client assertion (certificate credential) failed signature validation."},
	50012:   {cause: CauseInvalidClientCredentials, verdict: definitive, explanation: "Client authentication failed (invalid secret or assertion)."},
	7000218: {cause: CauseInvalidClientCredentials, verdict: definitive, explanation: "The request carried no client secret or assertion, and the app registration does not allow public client flows.",
		remediation: "Turn on 'Allow public client flows' in the app registration (Authentication) for device code enrollment, or configure a client credential."},

	// Transient: throttling, loops, outages.
	50196: {cause: CauseTransient, verdict: transient, explanation: "Entra detected a request loop (the same request repeated too often) and throttled the client."},
	90055: {cause: CauseTransient, verdict: transient, explanation: "The tenant is throttling token requests."},
	90033: {cause: CauseTransient, verdict: transient, explanation: "A Microsoft directory service was temporarily unavailable."},
	70000: {cause: CauseTransient, verdict: transient, explanation: "The grant was rejected as invalid or malformed; public reports show this succeeding on retry, so one occurrence is not a verdict."},
	70016: {cause: CauseTransient, verdict: transient, explanation: "The device-code sign-in has not been completed yet (authorization pending)."},

	// Other, recognised.
	70002:   {cause: CauseOther, verdict: undecided, explanation: "Credentials could not be validated (a generic prefix; a second code usually says why)."},
	50089:   {cause: CauseOther, verdict: definitive, reEnroll: yes, explanation: "The sign-in's flow token expired; the authentication must start again."},
	500133:  {cause: CauseOther, verdict: undecided, explanation: "An assertion was outside its valid time range: it expired, or this host's clock is skewed.", remediation: "Check the host's clock (NTP); if it is correct, the assertion expired and will be renewed."},
	70019:   {cause: CauseOther, verdict: definitive, reEnroll: yes, explanation: "The device code expired before the sign-in was completed.", remediation: "Run the enrollment again and complete the sign-in within the code's lifetime (15 minutes)."},
	54005:   {cause: CauseOther, verdict: definitive, reEnroll: yes, explanation: "The authorization code was already redeemed.", remediation: "Run the enrollment again; paste each redirect URL only once."},
	9002313: {cause: CauseOther, verdict: definitive, explanation: "The request was malformed or invalid."},
	50011:   {cause: CauseOther, verdict: definitive, explanation: "The redirect URI does not match one registered for the application.", remediation: "Register the agent's redirect URI on the app registration."},
	70011:   {cause: CauseOther, verdict: definitive, explanation: "A requested scope is invalid."},
	50020:   {cause: CauseOther, verdict: definitive, explanation: "The account from the identity provider does not exist in the tenant."},
	50058:   {cause: CauseOther, verdict: undecided, explanation: "A silent sign-in found no signed-in session."},
	50199:   {cause: CauseOther, verdict: definitive, reEnroll: yes, explanation: "For security reasons Entra requires the user to confirm this sign-in interactively."},
	50194:   {cause: CauseOther, verdict: definitive, explanation: "The application is not configured as multi-tenant, yet the request went to another tenant."},
}

// rankOf orders candidate decisions: definitive known causes by specificity,
// then transient, then undecided, then unknown codes.
func rankOf(c codeInfo) int {
	switch c.verdict {
	case definitive:
		return 100 + causes[c.cause].rank
	case transient:
		return 50
	default:
		return 10
	}
}
