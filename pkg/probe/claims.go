package probe

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// tokenClaims are the JWT claims the agent reads from the id_token and the
// access token. Signatures are not checked: the token came straight from
// the identity provider over TLS, and only facts about the sign-in are read.
type tokenClaims struct {
	AuthTime          int64    `json:"auth_time"`
	IssuedAt          int64    `json:"iat"`
	AMR               []string `json:"amr"`
	Scope             string   `json:"scp"`
	PreferredUsername string   `json:"preferred_username"`
	UPN               string   `json:"upn"`
}

// decodeJWTClaims decodes the payload of a compact JWT. Microsoft access
// tokens for first-party resources may be opaque; that is not an error
// worth reporting, so callers treat a failure as "no claims".
func decodeJWTClaims(raw string) (tokenClaims, error) {
	var c tokenClaims
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return c, errors.New("not a compact JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c, errors.New("JWT payload is not base64url")
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, errors.New("JWT payload is not a JSON object")
	}
	return c, nil
}

// authTime returns the auth_time claim, or zero when absent (it is an
// optional claim in Entra v2 id_tokens).
func (c tokenClaims) authTime() time.Time {
	if c.AuthTime <= 0 {
		return time.Time{}
	}
	return time.Unix(c.AuthTime, 0).UTC()
}

// hasMFA reports whether the authentication methods include MFA.
func (c tokenClaims) hasMFA() bool {
	for _, m := range c.AMR {
		if strings.EqualFold(m, "mfa") {
			return true
		}
	}
	return false
}
