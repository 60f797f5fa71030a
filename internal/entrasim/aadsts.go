package entrasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// aadError is a token-endpoint error in Entra's wire shape.
type aadError struct {
	status        int
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	Codes         []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	ErrorURI      string `json:"error_uri"`
	SubError      string `json:"suberror,omitempty"`
	Claims        string `json:"claims,omitempty"`

	code    int    // the AADSTS number
	message string // the text after "AADSTSnnnnn: ", for sign-in logs
}

func newGUID() string { return uuid.NewString() }

// stsTime formats like the "Timestamp:" line and timestamp field.
func stsTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// stsInstant formats token times in messages: 7 fractional digits, as .NET
// prints them ("2020-06-03T07:09:26.9675714Z").
func stsInstant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// newAADError builds the error with fresh trace and correlation ids.
// correlationID, when non-empty, echoes the client's client-request-id as
// Entra does.
func newAADError(errName string, code int, suberror, message string, now time.Time, correlationID string) *aadError {
	if correlationID == "" {
		correlationID = newGUID()
	}
	e := &aadError{
		status: http.StatusBadRequest, Error: errName, Codes: []int{code},
		Timestamp: stsTime(now), TraceID: newGUID(), CorrelationID: correlationID,
		ErrorURI: fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", code),
		SubError: suberror, code: code, message: message,
	}
	e.Description = fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
		code, message, e.TraceID, e.CorrelationID, e.Timestamp)
	return e
}

func (e *aadError) body() *aadError { return e }

func (e *aadError) withStatus(s int) *aadError { e.status = s; return e }

func (e *aadError) withClaims(c string) *aadError { e.Claims = c; return e }

func (e *aadError) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("x-ms-request-id", e.TraceID)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(e)
}

// failureReason is the sign-in log's status.failureReason: the message
// without the parts that vary per request.
func (e *aadError) failureReason() string {
	if i := strings.Index(e.message, " The token was issued on"); i > 0 {
		return e.message[:i]
	}
	if i := strings.Index(e.message, " The grant was issued on"); i > 0 {
		return e.message[:i]
	}
	return e.message
}

// capolidsClaims is the claims challenge Entra attaches when a CA policy
// requires an interactive step, naming the policies.
func capolidsClaims(policyIDs []string) string {
	b, _ := json.Marshal(map[string]any{"access_token": map[string]any{
		"capolids": map[string]any{"essential": true, "values": policyIDs},
	}})
	return string(b)
}

// dotNetDuration formats like .NET's TimeSpan ("90.00:00:00"), which is
// how 700082 prints the inactivity.
func dotNetDuration(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	d -= time.Duration(days) * 24 * time.Hour
	h, m, s := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	if days > 0 {
		return fmt.Sprintf("%d.%02d:%02d:%02d", days, h, m, s)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
}

// The AADSTS errors the simulator returns. Texts follow Microsoft's error
// reference and observed responses; values in braces are filled per request.
type stsErrors struct {
	now  time.Time
	corr string
}

func (x stsErrors) e(errName string, code int, sub, msg string) *aadError {
	return newAADError(errName, code, sub, msg, x.now, x.corr)
}

func (x stsErrors) signInFrequency(issued time.Time, limit time.Duration) *aadError {
	return x.e("invalid_grant", 70043, "bad_token", fmt.Sprintf(
		"The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on %s and the maximum allowed lifetime for this request is %d.",
		stsInstant(issued), int64(limit/time.Second)))
}

func (x stsErrors) inactive(issued time.Time, inactive time.Duration) *aadError {
	return x.e("invalid_grant", 700082, "bad_token", fmt.Sprintf(
		"The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
		stsInstant(issued), dotNetDuration(inactive)))
}

func (x stsErrors) revoked(authTime, validFrom time.Time) *aadError {
	return x.e("invalid_grant", 50173, "bad_token", fmt.Sprintf(
		"The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.",
		stsInstant(authTime), stsInstant(validFrom)))
}

func (x stsErrors) mfaRequired(resource string) *aadError {
	return x.e("invalid_grant", 50076, "basic_action", fmt.Sprintf(
		"Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", resource))
}

func (x stsErrors) mfaRegistration(resource string) *aadError {
	return x.e("invalid_grant", 50079, "basic_action", fmt.Sprintf(
		"Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '%s'.", resource))
}

func (x stsErrors) mfaExpired(resource string) *aadError {
	return x.e("invalid_grant", 50078, "basic_action", fmt.Sprintf(
		"Presented multi-factor authentication has expired due to policies configured by your administrator, you must refresh your multi-factor authentication to access '%s'.", resource))
}

func (x stsErrors) blocked() *aadError {
	return x.e("invalid_grant", 53003, "message_only",
		"Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.")
}

func (x stsErrors) deviceNotCompliant() *aadError {
	return x.e("invalid_grant", 53000, "additional_action",
		"Device is not in required device state: compliant. Conditional Access policy requires a compliant device, and the device is not compliant. The user must enroll their device with an approved MDM provider like Intune.")
}

func (x stsErrors) deviceNotDomainJoined() *aadError {
	return x.e("invalid_grant", 53001, "additional_action",
		"Device is not in required device state: domain_joined. Conditional Access policy requires a domain joined device, and the device is not domain joined. Have the user use a domain joined device.")
}

func (x stsErrors) deviceNotManaged() *aadError {
	return x.e("invalid_grant", 530003, "additional_action",
		"Your device is required to be managed to access this resource.")
}

func (x stsErrors) disabled() *aadError {
	return x.e("invalid_grant", 50057, "", "The user account is disabled.")
}

func (x stsErrors) locked() *aadError {
	return x.e("invalid_grant", 50053, "",
		"Your account is locked because you've tried to sign in too many times with an incorrect user ID or password.")
}

func (x stsErrors) passwordExpired() *aadError {
	return x.e("invalid_grant", 50055, "user_password_expired", "The password is expired.")
}

func (x stsErrors) consent(appID, appName string) *aadError {
	return x.e("invalid_grant", 65001, "consent_required", fmt.Sprintf(
		"The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", appID, appName))
}

func (x stsErrors) appNotFound(appID, tenant string) *aadError {
	return x.e("unauthorized_client", 700016, "", fmt.Sprintf(
		"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", appID, tenant))
}

func (x stsErrors) tenantNotFound(tenant string) *aadError {
	return x.e("invalid_request", 90002, "", fmt.Sprintf(
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant))
}

func (x stsErrors) badSecret(appID string) *aadError {
	return x.e("invalid_client", 7000215, "", fmt.Sprintf(
		"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", appID)).withStatus(http.StatusUnauthorized)
}

func (x stsErrors) invalidClient(code int, msg string) *aadError {
	return x.e("invalid_client", code, "", msg).withStatus(http.StatusUnauthorized)
}

func (x stsErrors) malformed(code int, msg string) *aadError {
	return x.e("invalid_request", code, "", msg)
}

func (x stsErrors) invalidGrant(code int, msg string) *aadError {
	return x.e("invalid_grant", code, "", msg)
}

func (x stsErrors) pending() *aadError {
	return x.e("authorization_pending", 70016, "",
		"OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
}

func (x stsErrors) declined() *aadError {
	return x.e("authorization_declined", 70000, "",
		"The user denied the authorization request.")
}

func (x stsErrors) codeExpired() *aadError {
	return x.e("expired_token", 70019, "", "Verification code expired.")
}
