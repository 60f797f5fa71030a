package probe

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

const tokenURL = "https://login.microsoftonline.com/0d1e2f3a-4b5c-4d6e-8f70-a1b2c3d4e5f6/oauth2/v2.0/token"

// newCallErr builds the error MSAL Go's comm.Client.do returns for a non-2xx
// reply: the body in Resp.Body (unless drained) and after the message's
// first newline.
func newCallErr(t *testing.T, status int, url, form, body string, drained bool) msalerrors.CallErr {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	respBody := body
	if drained {
		respBody = ""
	}
	msg := fmt.Sprintf("http call(%s)(POST) error: reply status code was %d", url, status)
	if strings.TrimSpace(body) != "" {
		msg += ":\n" + body
	}
	return msalerrors.CallErr{
		Req:  req,
		Resp: &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(respBody))},
		Err:  errors.New(msg),
	}
}

const sifBody = `{"error":"invalid_grant","error_description":"AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on 2026-11-20T07:00:00.0000000Z and the maximum allowed lifetime for this request is 43200.\r\nTrace ID: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c00\r\nCorrelation ID: 11223344-5566-4788-99aa-bbccddeeff00\r\nTimestamp: 2026-11-21 08:00:05Z","error_codes":[70043],"timestamp":"2026-11-21 08:00:05Z","trace_id":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c00","correlation_id":"11223344-5566-4788-99aa-bbccddeeff00","error_uri":"https://login.microsoftonline.com/error?code=70043","suberror":"bad_token"}`

func TestParseAADErrorReadsBodyAndPutsItBack(t *testing.T) {
	ce := newCallErr(t, 400, tokenURL, "grant_type=refresh_token", sifBody, false)
	got, ok := ParseAADError(fmt.Errorf("probe tenant x: %w", ce))
	if !ok {
		t.Fatal("CallErr not found through the wrap")
	}
	want := AADError{HTTPStatus: 400, Error: "invalid_grant", ErrorCodes: []int{70043}, SubError: "bad_token",
		CorrelationID: "11223344-5566-4788-99aa-bbccddeeff00", TraceID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c00",
		Timestamp: "2026-11-21 08:00:05Z", ErrorURI: "https://login.microsoftonline.com/error?code=70043"}
	if got.HTTPStatus != want.HTTPStatus || got.Error != want.Error || fmt.Sprint(got.ErrorCodes) != fmt.Sprint(want.ErrorCodes) ||
		got.SubError != want.SubError || got.CorrelationID != want.CorrelationID || got.TraceID != want.TraceID ||
		got.Timestamp != want.Timestamp || got.ErrorURI != want.ErrorURI || !strings.HasPrefix(got.ErrorDescription, "AADSTS70043:") {
		t.Errorf("got %+v", got)
	}
	again, _ := io.ReadAll(ce.Resp.Body)
	if string(again) != sifBody {
		t.Errorf("Resp.Body not restored for later readers: %q", again)
	}
}

func TestParseAADErrorDrainedDeviceCodeBodyFallsBackToMessage(t *testing.T) {
	body := `{"error":"authorization_declined","error_description":"AADSTS70000: The request was denied.","error_codes":[70000],"trace_id":"1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e00"}`
	ce := newCallErr(t, 400, tokenURL, "grant_type=device_code&device_code=DAQABAAEAAAB", body, true)
	got, ok := ParseAADError(ce)
	if !ok || got.Error != "authorization_declined" || fmt.Sprint(got.ErrorCodes) != "[70000]" || got.TraceID != "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e00" {
		t.Errorf("got %+v, %v", got, ok)
	}
}

func TestParseAADErrorNonJSONAndOtherErrors(t *testing.T) {
	html := newCallErr(t, 503, tokenURL, "", "<html><body>Service Unavailable</body></html>", false)
	got, ok := ParseAADError(html)
	if !ok || got.HTTPStatus != 503 || got.Error != "" || len(got.ErrorCodes) != 0 {
		t.Errorf("HTML 503: got %+v, %v", got, ok)
	}
	if got, ok := ParseAADError(errors.New("no token found")); ok || got != nil {
		t.Errorf("plain error: got %+v, %v", got, ok)
	}
	if _, ok := ParseAADError(nil); ok {
		t.Error("nil error parsed")
	}
	ptr := newCallErr(t, 400, tokenURL, "", sifBody, false)
	if got, ok := ParseAADError(&ptr); !ok || got.Error != "invalid_grant" {
		t.Errorf("*CallErr: got %+v, %v", got, ok)
	}
	// A CallErr with nothing in it must not panic (CallErr.Error would).
	if got, ok := ParseAADError(msalerrors.CallErr{}); !ok || got.HTTPStatus != 0 {
		t.Errorf("empty CallErr: got %+v, %v", got, ok)
	}
}

func TestParseAADErrorRedactsEchoedCredentials(t *testing.T) {
	body := `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: Xq48Q~aB3cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV3w was sent with refresh token 0.AXYAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmnop","error_codes":[7000215]}`
	got, ok := ParseAADError(newCallErr(t, 401, tokenURL, "", body, false))
	if !ok {
		t.Fatal("not parsed")
	}
	if strings.Contains(got.ErrorDescription, "Xq48Q") || strings.Contains(got.ErrorDescription, "0.AXYA") ||
		!strings.Contains(got.ErrorDescription, "<redacted>") || !strings.HasPrefix(got.ErrorDescription, "AADSTS7000215:") {
		t.Errorf("description not redacted: %q", got.ErrorDescription)
	}
}

func TestRedactCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"plain words, AADSTS70043: ok; id 3f9c1a52-7d4e-4b8a-9e21-6c0d5b7a1e00": "plain words, AADSTS70043: ok; id 3f9c1a52-7d4e-4b8a-9e21-6c0d5b7a1e00",
		"Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln end":  "Bearer <redacted> end",
		"secret=Xq48Q~aB3cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV3w&x=1":                   "secret=<redacted>&x=1",
		"rt 1.AXYAbCdEf more":                            "rt <redacted> more",
		"opaque " + strings.Repeat("A1b2", 12) + " tail": "opaque <redacted> tail",
	} {
		if got := RedactCredentials(in); got != want {
			t.Errorf("RedactCredentials(%q) = %q, want %q", in, got, want)
		}
	}
}
