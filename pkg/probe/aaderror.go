package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// AADError is the structured error body of a failed token request, as the
// probe persists it per attempt. It holds no token: Entra never echoes the
// refresh token in these fields, and ErrorDescription is passed through
// RedactCredentials anyway.
type AADError struct {
	HTTPStatus       int    `json:"httpStatus,omitempty"`
	Error            string `json:"error"`             // invalid_grant, interaction_required, ...
	ErrorDescription string `json:"error_description"` // "AADSTS70043: ...\r\nTrace ID: ..."
	ErrorCodes       []int  `json:"error_codes"`       // [70043]
	SubError         string `json:"suberror"`          // basic_action, bad_token, consent_required, ...
	Claims           string `json:"claims"`            // Conditional Access claims challenge, if any
	CorrelationID    string `json:"correlation_id"`
	TraceID          string `json:"trace_id"`
	Timestamp        string `json:"timestamp"`
	ErrorURI         string `json:"error_uri"`
}

// maxBody bounds how much of an error body is read; Entra's are < 2 KB.
const maxBody = 64 << 10

// ParseAADError extracts the token endpoint's error body from an MSAL Go
// error. ok is false when err holds no errors.CallErr (a network failure, a
// context deadline, a local MSAL error): use DiagnoseError for those.
//
// MSAL returns the body twice: in CallErr.Resp.Body (a re-readable buffer,
// which this function puts back after reading) and after the first newline
// of CallErr.Err's message. The device-code poller drains Resp.Body before
// returning terminal errors (authorization_declined, expired_token), so the
// message is the fallback. A body that is not JSON (an HTML 503 page) still
// yields ok with only HTTPStatus set.
func ParseAADError(err error) (*AADError, bool) {
	ce, ok := asCallErr(err)
	if !ok {
		return nil, false
	}
	out := &AADError{}
	if ce.Resp != nil {
		out.HTTPStatus = ce.Resp.StatusCode
	}
	body := callErrBody(ce)
	if len(body) > 0 {
		_ = json.Unmarshal(body, out) // partial or non-JSON bodies keep what decoded
	}
	out.ErrorDescription = RedactCredentials(out.ErrorDescription)
	out.Claims = RedactCredentials(out.Claims)
	return out, true
}

// asCallErr finds a CallErr by value (as MSAL returns it) or by pointer.
func asCallErr(err error) (msalerrors.CallErr, bool) {
	var ce msalerrors.CallErr
	if errors.As(err, &ce) {
		return ce, true
	}
	var pce *msalerrors.CallErr
	if errors.As(err, &pce) && pce != nil {
		return *pce, true
	}
	return msalerrors.CallErr{}, false
}

// callErrBody returns the response body, restoring Resp.Body for any later
// reader, or the part of the message after its first newline when the body
// was drained.
func callErrBody(ce msalerrors.CallErr) []byte {
	var body []byte
	if ce.Resp != nil && ce.Resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(ce.Resp.Body, maxBody))
		ce.Resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	if len(bytes.TrimSpace(body)) > 0 {
		return body
	}
	msg := callErrMessage(ce)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		return []byte(strings.TrimSpace(msg[i+1:]))
	}
	return nil
}

// callErrMessage is ce.Error() without the nil-Err panic CallErr.Error has.
func callErrMessage(ce msalerrors.CallErr) string {
	if ce.Err == nil {
		return ""
	}
	return ce.Err.Error()
}
