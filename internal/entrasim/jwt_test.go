package entrasim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTokensVerifyAgainstPublishedJWKS follows the OIDC document to its
// jwks_uri and verifies the id_token and access token signatures with the
// published key, as a relying party would.
func TestTokensVerifyAgainstPublishedJWKS(t *testing.T) {
	s := startSim(t, testScenario(t, "", ""))
	c := newCanary(t, s, modeB, testTenant)
	ar := c.enroll(t)
	hc := &http.Client{Transport: s.RedirectTransport()}
	get := func(url string, v any) {
		resp, err := hc.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var oidc struct {
		JWKS   string `json:"jwks_uri"`
		Issuer string `json:"issuer"`
	}
	get("https://login.microsoftonline.com/"+testTenant+"/v2.0/.well-known/openid-configuration", &oidc)
	var jwks struct {
		Keys []struct{ Kid, N, E, Kty string } `json:"keys"`
	}
	get(oidc.JWKS, &jwks)
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kty != "RSA" {
		t.Fatalf("jwks = %+v", jwks)
	}
	nb, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].N)
	eb, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
	for name, tok := range map[string]string{"id_token": ar.IDToken.RawToken, "access_token": ar.AccessToken} {
		parts := strings.Split(tok, ".")
		var h struct{ Alg, Kid string }
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		_ = json.Unmarshal(hb, &h)
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if h.Alg != "RS256" || h.Kid != jwks.Keys[0].Kid || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
			t.Errorf("%s does not verify with the published key (header %+v)", name, h)
		}
	}
	if iss := decodeJWTPayload(t, ar.IDToken.RawToken)["iss"]; iss != oidc.Issuer {
		t.Errorf("id_token iss %v, OIDC issuer %q", iss, oidc.Issuer)
	}
}

func TestAccessTokenValidation(t *testing.T) {
	s := startSim(t, testScenario(t, "accessTokenLifetime: 1h", ""))
	c := newCanary(t, s, modeA, testTenant)
	at := c.enroll(t).AccessToken
	if _, _, err := s.ValidateAccessToken(at); err != nil {
		t.Fatalf("fresh token rejected: %v", err)
	}
	req, _ := http.NewRequest("GET", "https://graph.microsoft.com/v1.0/me", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	if _, cl, err := s.ValidateBearer(req); err != nil || cl.UserID != testUser || strings.Join(cl.Scopes, " ") != "Policy.Read.All AuditLog.Read.All" {
		t.Fatalf("ValidateBearer = %+v, %v", cl, err)
	}
	for name, tok := range map[string]string{"tampered": at[:len(at)-4] + "AAAA", "garbage": "x.y.z", "empty": ""} {
		if _, _, err := s.ValidateAccessToken(tok); err == nil {
			t.Errorf("%s token accepted", name)
		}
	}
	s.Advance(time.Hour + time.Second)
	if _, _, err := s.ValidateAccessToken(at); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
	if _, err := newSigner(1000); err == nil {
		t.Error("1000-bit key accepted")
	}
}

func TestSignInRetention(t *testing.T) {
	tn := &Tenant{ID: testTenant}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 25 {
		tn.AppendSignIn(SignIn{ID: string(rune('a' + i)), CreatedDateTime: at.Add(time.Duration(i) * 24 * time.Hour)}, 10, 30*24*time.Hour)
	}
	recs := tn.SignIns(nil)
	if len(recs) != 10 || recs[0].ID != "y" || recs[9].ID != "p" {
		t.Fatalf("kept %d records, newest %q oldest %q; want 10, y..p", len(recs), recs[0].ID, recs[len(recs)-1].ID)
	}
	tn.AppendSignIn(SignIn{ID: "late", CreatedDateTime: at.Add(50 * 24 * time.Hour)}, 10, 30*24*time.Hour)
	if recs := tn.SignIns(nil); len(recs) != 6 || recs[5].ID != "u" { // days 20..24 (u..y) are within 30 days of day 50
		t.Fatalf("after 30-day retention: %d records, oldest %q", len(recs), recs[len(recs)-1].ID)
	}
	if got := tn.SignIns(func(s *SignIn) bool { return s.ID == "late" }); len(got) != 1 {
		t.Errorf("filter returned %d records", len(got))
	}
}
