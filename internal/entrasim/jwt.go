package entrasim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// signer issues RS256 JWTs with one key, as Entra signs id_tokens and access
// tokens, and publishes it as a JWKS.
type signer struct {
	key    *rsa.PrivateKey
	kid    string
	header string // base64url of the fixed JOSE header
}

// newSigner creates the RS256 key. Entra's signing keys are 2048-bit; a
// smaller key (Options.SigningKeyBits) only serves load tests, where RSA
// signing dominates the cost of a grant.
func newSigner(bits int) (*signer, error) {
	if bits == 0 {
		bits = 2048
	}
	if bits != 1024 && bits != 2048 && bits != 3072 && bits != 4096 {
		return nil, fmt.Errorf("signing key size %d: want 1024, 2048, 3072 or 4096 bits", bits)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	der := key.PublicKey.N.Bytes()
	sum := sha1.Sum(der)
	kid := base64.RawURLEncoding.EncodeToString(sum[:])
	h, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": kid, "x5t": kid})
	return &signer{key: key, kid: kid, header: base64.RawURLEncoding.EncodeToString(h)}, nil
}

// sign returns header.payload.signature for claims (marshalled as JSON).
func (s *signer) sign(claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(s.header) + 2 + base64.RawURLEncoding.EncodedLen(len(payload)) + 344)
	b.WriteString(s.header)
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(payload))
	digest := sha256.Sum256([]byte(b.String()))
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(sig))
	return b.String(), nil
}

// verify checks the signature of a compact JWT and decodes its claims.
func (s *signer) verify(token string, claims any) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return errors.New("bad JWT header encoding")
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(hb, &h); err != nil || h.Alg != "RS256" || h.Kid != s.kid {
		return errors.New("JWT not signed by this issuer")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errors.New("bad JWT signature encoding")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		return errors.New("JWT signature invalid")
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return errors.New("bad JWT payload encoding")
	}
	return json.Unmarshal(pb, claims)
}

// jwks is the published key set (jwks_uri).
func (s *signer) jwks() map[string]any {
	pub := &s.key.PublicKey
	e := big.NewInt(int64(pub.E)).Bytes()
	return map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "kid": s.kid, "x5t": s.kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(e),
	}}}
}

// accessTokenClaims is the payload of a Graph access token (a v1.0 token,
// as Graph tokens are in Entra).
type accessTokenClaims struct {
	Aud      string   `json:"aud"`
	Iss      string   `json:"iss"`
	Iat      int64    `json:"iat"`
	Nbf      int64    `json:"nbf"`
	Exp      int64    `json:"exp"`
	Acr      string   `json:"acr,omitempty"`
	Amr      []string `json:"amr,omitempty"`
	AppID    string   `json:"appid"`
	AppIDAcr string   `json:"appidacr"`
	IDTyp    string   `json:"idtyp"`
	IPAddr   string   `json:"ipaddr,omitempty"`
	Name     string   `json:"name,omitempty"`
	Oid      string   `json:"oid"`
	Roles    []string `json:"roles,omitempty"`
	Scp      string   `json:"scp,omitempty"`
	Sid      string   `json:"sid,omitempty"`
	Sub      string   `json:"sub"`
	Tid      string   `json:"tid"`
	UPN      string   `json:"upn,omitempty"`
	UniqueNm string   `json:"unique_name,omitempty"`
	Uti      string   `json:"uti"`
	Ver      string   `json:"ver"`
}

// idTokenClaims is the payload of a v2.0 id_token.
type idTokenClaims struct {
	Aud               string   `json:"aud"`
	Iss               string   `json:"iss"`
	Iat               int64    `json:"iat"`
	Nbf               int64    `json:"nbf"`
	Exp               int64    `json:"exp"`
	AuthTime          int64    `json:"auth_time,omitempty"`
	Amr               []string `json:"amr,omitempty"`
	Name              string   `json:"name,omitempty"`
	Nonce             string   `json:"nonce,omitempty"`
	Oid               string   `json:"oid"`
	PreferredUsername string   `json:"preferred_username"`
	Rh                string   `json:"rh,omitempty"`
	Sid               string   `json:"sid,omitempty"`
	Sub               string   `json:"sub"`
	Tid               string   `json:"tid"`
	Uti               string   `json:"uti"`
	Ver               string   `json:"ver"`
}

// AccessClaims is what a validated access token says about its caller.
type AccessClaims struct {
	TenantID string
	// UserID is the user's object id (oid); empty for app-only tokens.
	UserID string
	UPN    string
	// AppID is the client application id (appid).
	AppID string
	// Scopes are delegated permissions (scp); Roles application ones.
	Scopes    []string
	Roles     []string
	AMR       []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// SessionID ties the token to the sign-in session (sid claim).
	SessionID string
}

// ErrInvalidToken is wrapped by every access-token validation failure.
var ErrInvalidToken = errors.New("invalid access token")

// validateAccessToken checks signature, audience and expiry at now.
func (s *signer) validateAccessToken(token string, now time.Time) (*AccessClaims, error) {
	var c accessTokenClaims
	if err := s.verify(token, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.Aud != GraphResource && c.Aud != GraphAppID && c.Aud != GraphResource+"/" {
		return nil, fmt.Errorf("%w: audience %q is not Microsoft Graph", ErrInvalidToken, c.Aud)
	}
	exp := time.Unix(c.Exp, 0)
	if !now.Before(exp) {
		return nil, fmt.Errorf("%w: expired at %s", ErrInvalidToken, exp.UTC().Format(time.RFC3339))
	}
	if now.Before(time.Unix(c.Nbf, 0).Add(-5 * time.Minute)) {
		return nil, fmt.Errorf("%w: not valid before %s", ErrInvalidToken, time.Unix(c.Nbf, 0).UTC().Format(time.RFC3339))
	}
	out := &AccessClaims{
		TenantID: c.Tid, AppID: c.AppID, AMR: c.Amr, Roles: c.Roles, UPN: c.UPN,
		IssuedAt: time.Unix(c.Iat, 0), ExpiresAt: exp, SessionID: c.Sid,
	}
	if c.IDTyp != "app" {
		out.UserID = c.Oid
	}
	if c.Scp != "" {
		out.Scopes = strings.Fields(c.Scp)
	}
	return out, nil
}
