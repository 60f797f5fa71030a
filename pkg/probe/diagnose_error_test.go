package probe

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
)

const blockBody = `{"error":"invalid_grant","error_description":"AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.\r\nTrace ID: 36a9bfd2-0233-4b3b-b947-5ed41fa7a600\r\nCorrelation ID: 85b60f58-62ff-4d26-b249-6a0229ba280e\r\nTimestamp: 2026-05-29 05:46:34Z","error_codes":[53003],"suberror":"message_only"}`

const refreshForm = "grant_type=refresh_token&client_id=6e5d4c3b-2a19-4807-b6f5-e4d3c2b1a090&refresh_token=0.AXYAsecretRefreshTokenValue0123456789abcdefghijklmnopqrstuvwxyz&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"

func TestDiagnoseErrorCallErr(t *testing.T) {
	ce := newCallErr(t, 400, tokenURL, refreshForm, sifBody, false)
	d := DiagnoseError(fmt.Errorf("refresh: %w", ce))
	if d.Cause != CauseSignInFrequency || !d.Definitive || !d.ReEnroll || d.Error != "invalid_grant" || d.SubError != "bad_token" {
		t.Errorf("%+v", d)
	}
	for k, v := range map[string]string{ValueMaxLifetimeSeconds: "43200", ValueIssuedAt: "2026-11-20T07:00:00.0000000Z",
		ValueHTTPStatus: "400", ValueTraceID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c00"} {
		if d.Values[k] != v {
			t.Errorf("values[%s] = %q, want %q", k, d.Values[k], v)
		}
	}
	if fmt.Sprint(d.Codes) != "[70043]" {
		t.Errorf("codes %v", d.Codes)
	}
}

func TestDiagnoseErrorDrainedDeviceCodeDecline(t *testing.T) {
	body := `{"error":"authorization_declined","error_description":"AADSTS70000: The request was denied because one or more grants are invalid.","error_codes":[70000]}`
	ce := newCallErr(t, 400, tokenURL, "grant_type=device_code&client_id=x&device_code=DAQABAAEAAAB", body, true)
	d := DiagnoseError(ce)
	if d.Cause != CauseOther || !d.Definitive || d.Transient || !d.ReEnroll || d.Error != "authorization_declined" {
		t.Errorf("a declined device-code sign-in is a verdict, not a transient 70000: %+v", d)
	}
}

func TestDiagnoseErrorDeviceCodeBlock(t *testing.T) {
	// The device-code poll itself is blocked: the request says so.
	poll := newCallErr(t, 400, tokenURL, "grant_type=device_code&device_code=DAQABAAEAAAB", blockBody, false)
	if d := DiagnoseError(poll); d.Cause != CauseCABlocked || d.Values[ValueAuthFlow] != "deviceCode" || !d.ReEnroll {
		t.Errorf("device-code poll: %+v", d)
	}
	// A refresh of a session that began with device code: only the hint knows.
	refresh := newCallErr(t, 400, tokenURL, refreshForm, blockBody, false)
	if d := DiagnoseError(refresh); d.Values[ValueAuthFlow] != "" || d.ReEnroll {
		t.Errorf("refresh without hint: %+v", d)
	}
	d := Hints{DeviceCodeSession: true}.DiagnoseError(refresh)
	if d.Cause != CauseCABlocked || d.Values[ValueAuthFlow] != "deviceCode" || !d.ReEnroll || !strings.Contains(d.Remediation, "--auth-code") {
		t.Errorf("refresh with hint: %+v", d)
	}
	out, _ := json.Marshal(d)
	if strings.Contains(string(out), "secretRefreshToken") {
		t.Errorf("the request form leaked into the diagnosis: %s", out)
	}
}

func TestDiagnoseErrorHTTPFailures(t *testing.T) {
	d := DiagnoseError(newCallErr(t, 503, tokenURL, refreshForm, "<html><body>Service Unavailable</body></html>", false))
	if d.Cause != CauseTransient || !d.Transient || d.Values[ValueHTTPStatus] != "503" {
		t.Errorf("503: %+v", d)
	}
	d = DiagnoseError(newCallErr(t, 429, tokenURL, refreshForm, "", false))
	if d.Cause != CauseTransient || d.Values[ValueHTTPStatus] != "429" {
		t.Errorf("429 without body: %+v", d)
	}
}

func TestDiagnoseErrorTransport(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		kind string
	}{
		{"deadline", fmt.Errorf("server response error:\n %w", context.DeadlineExceeded), "timeout"},
		{"cancelled", fmt.Errorf("probe: %w", context.Canceled), "cancelled"},
		{"dns", &url.Error{Op: "Post", URL: tokenURL, Err: &net.DNSError{Err: "no such host", Name: "login.microsoftonline.com", IsNotFound: true}}, "dns"},
		{"reset", &url.Error{Op: "Post", URL: tokenURL, Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}, "connection reset"},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection refused"},
		{"text only", errors.New(`Post "https://login.microsoftonline.com/x/oauth2/v2.0/token": net/http: TLS handshake timeout`), "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := DiagnoseError(tc.err)
			if d.Cause != CauseTransient || !d.Transient || d.Definitive || d.Values[ValueNetwork] != tc.kind {
				t.Errorf("%+v", d)
			}
		})
	}
}

func TestDiagnoseErrorTLSIsConfigurationNotTransient(t *testing.T) {
	err := &url.Error{Op: "Post", URL: tokenURL, Err: x509.UnknownAuthorityError{}}
	d := DiagnoseError(err)
	if d.Transient || d.Definitive || d.Cause != CauseOther || d.Values[ValueNetwork] != "tls" || !strings.Contains(d.Remediation, "CA bundle") {
		t.Errorf("%+v", d)
	}
}

func TestDiagnoseErrorPlainMSALError(t *testing.T) {
	// MSAL's error for an HTTP 200 carrying an error field: "<error>: <desc>".
	d := DiagnoseError(errors.New("invalid_grant: AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."))
	if d.Cause != CausePasswordChanged || !d.Definitive || d.Error != "invalid_grant" {
		t.Errorf("%+v", d)
	}
	if d := DiagnoseError(nil); d.Recognized() || d.Cause != CauseOther || d.Codes == nil || d.Values == nil {
		t.Errorf("nil: %+v", d)
	}
}
