package probe

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

func TestCodeFromRedirect(t *testing.T) {
	tests := []struct {
		name, raw, wantCode, wantErr string
	}{
		{"full URL", "https://login.microsoftonline.com/common/oauth2/nativeclient?code=abc&state=S&session_state=x", "abc", ""},
		{"query only", "?code=abc&state=S", "abc", ""},
		{"surrounding spaces", "  https://x/?code=abc&state=S \r", "abc", ""},
		{"stale state", "https://x/?code=abc&state=OTHER", "", errStateMismatch.Error()},
		{"no code", "https://x/?state=S", "", "the redirect URL carries no code parameter"},
		{"sign-in error", "https://x/?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent&state=S", "",
			"sign-in failed: access_denied: AADSTS65004: User declined to consent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := codeFromRedirect(tt.raw, "S")
			got := ""
			if err != nil {
				got = err.Error()
			}
			if code != tt.wantCode || got != tt.wantErr {
				t.Errorf("= %q, %q; want %q, %q", code, got, tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestPKCEChallengeIsS256OfVerifier(t *testing.T) {
	p, err := newPKCE()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(p.verifier))
	if p.challenge != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Error("challenge is not the S256 hash of the verifier")
	}
	if len(p.verifier) < 43 || len(p.state) < 16 {
		t.Errorf("verifier %d chars, state %d chars: too short", len(p.verifier), len(p.state))
	}
	q, _ := newPKCE()
	if q.verifier == p.verifier || q.state == p.state {
		t.Error("two sign-ins share a verifier or state")
	}
}
