package probe

import (
	"encoding/base64"
	"testing"
	"time"
)

func jwtWith(payload string) string {
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".sig"
}

func TestDecodeJWTClaims(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		wantErr  string
		authTime time.Time
		mfa      bool
	}{
		{"auth_time and mfa", jwtWith(`{"auth_time":1767603600,"amr":["pwd","mfa"]}`), "", time.Unix(1767603600, 0).UTC(), true},
		{"no auth_time, password only", jwtWith(`{"amr":["pwd"]}`), "", time.Time{}, false},
		{"MFA in upper case", jwtWith(`{"amr":["MFA"]}`), "", time.Time{}, true},
		{"padded payload", "h." + base64.URLEncoding.EncodeToString([]byte(`{"auth_time":5}`)) + ".s", "", time.Unix(5, 0).UTC(), false},
		{"opaque access token", "EwBwA8l6BAAU...", "not a compact JWT", time.Time{}, false},
		{"payload not base64", "a.%%%.c", "JWT payload is not base64url", time.Time{}, false},
		{"payload not JSON", "a." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".c", "JWT payload is not a JSON object", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := decodeJWTClaims(tt.raw)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.authTime().Equal(tt.authTime) || c.hasMFA() != tt.mfa {
				t.Errorf("authTime %s mfa %v, want %s %v", c.authTime(), c.hasMFA(), tt.authTime, tt.mfa)
			}
		})
	}
}
