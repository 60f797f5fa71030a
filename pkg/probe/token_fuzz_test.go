package probe

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// FuzzParseAADError feeds arbitrary token-endpoint error bodies and status
// codes through ParseAADError the way MSAL hands them over: a CallErr whose
// Resp.Body holds the body and whose message repeats it after a newline,
// or (drained, as the device-code poller leaves it) only the message.
// Parsing never panics, always reports ok for a CallErr, keeps the status,
// gives the body back to later readers, and never lets a credential-shaped
// value through the description or the claims challenge.
//
//	go test -run '^$' -fuzz '^FuzzParseAADError$' -fuzztime 60s ./pkg/probe/
func FuzzParseAADError(f *testing.F) {
	for _, s := range []struct {
		body    string
		status  int
		drained bool
	}{
		{`{"error":"invalid_grant","error_description":"AADSTS70043: The refresh token has expired.\r\nTrace ID: 1","error_codes":[70043],"suberror":"bad_token"}`, 400, false},
		{`{"error":"interaction_required","error_codes":[50076],"claims":"{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"p1\"]}}}"}`, 400, true},
		{`<html><body>503 Service Unavailable</body></html>`, 503, false},
		{`{"error":"invalid_grant","error_description":"refresh_token=0.AAAA-secret-looking-value.BBBB"}`, 400, false},
		{`{"error_codes":"not a list"}`, 400, false},
		{"", 0, true},
		{`{"error":`, 500, false},
	} {
		f.Add(s.body, s.status, s.drained)
	}
	f.Fuzz(func(t *testing.T, body string, status int, drained bool) {
		ce := msalerrors.CallErr{
			Req: &http.Request{},
			Err: errors.New("http call(https://login.microsoftonline.com/t/oauth2/v2.0/token)(POST) error: reply status code was " +
				http.StatusText(status) + ":\n" + body),
		}
		resp := &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body))}
		if drained {
			resp.Body = io.NopCloser(strings.NewReader(""))
		}
		ce.Resp = resp
		for _, err := range []error{ce, &ce, errors.Join(errors.New("wrapped"), ce)} {
			got, ok := ParseAADError(err)
			if !ok || got == nil {
				t.Fatalf("a CallErr must parse: ok=%v got=%v", ok, got)
			}
			if got.HTTPStatus != status {
				t.Fatalf("status %d, want %d", got.HTTPStatus, status)
			}
			if got.ErrorDescription != RedactCredentials(got.ErrorDescription) || got.Claims != RedactCredentials(got.Claims) {
				t.Fatalf("unredacted credential left in %+v", got)
			}
			if _, err := json.Marshal(got); err != nil {
				t.Fatalf("parsed error does not marshal: %v", err)
			}
		}
		if !drained {
			// The body must still be readable by whoever looks next.
			rest, _ := io.ReadAll(ce.Resp.Body)
			if want := body; len(want) <= maxBody && !bytes.Equal(rest, []byte(want)) {
				t.Fatalf("body not restored: %q, want %q", rest, want)
			}
		}
		if _, ok := ParseAADError(errors.New(body)); ok {
			t.Fatal("a plain error is not a CallErr")
		}
	})
}

// FuzzDecodeJWTClaims: whatever the token text, claim decoding never
// panics, and for a well-formed compact JWT whose payload is a JSON object
// the claims decode exactly as encoding/json decodes that payload.
//
//	go test -run '^$' -fuzz '^FuzzDecodeJWTClaims$' -fuzztime 60s ./pkg/probe/
func FuzzDecodeJWTClaims(f *testing.F) {
	f.Add("", []byte(`{}`), "sig")
	f.Add("eyJ0eXAiOiJKV1QifQ", []byte(`{"auth_time":1764236400,"iat":1764236400,"amr":["pwd","mfa"],"scp":"User.Read","upn":"svc@contoso.example"}`), "c2ln")
	f.Add("h", []byte(`{"auth_time":-1,"amr":"mfa"}`), "")
	f.Add("h", []byte(`{"auth_time":1e400}`), "s")
	f.Add("a.b", []byte(`[1,2]`), "x.y")
	f.Fuzz(func(t *testing.T, header string, payload []byte, sig string) {
		raw := header + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + sig
		got, err := decodeJWTClaims(raw)
		_ = got.authTime()
		_ = got.hasMFA()
		if _, err2 := decodeJWTClaims(header); err2 == nil && strings.Count(header, ".") != 2 {
			t.Fatalf("%q is not a compact JWT but decoded", header)
		}
		if strings.Contains(header, ".") || strings.Contains(sig, ".") {
			if err == nil {
				t.Fatalf("%q has more than three parts but decoded", raw)
			}
			return
		}
		var want tokenClaims
		wantErr := json.Unmarshal(payload, &want)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("decode error %v, encoding/json error %v", err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("claims %+v, want %+v", got, want)
		}
		if at := got.authTime(); !at.IsZero() && at.Unix() != got.AuthTime {
			t.Fatalf("authTime %v does not match auth_time %d", at, got.AuthTime)
		}
	})
}
