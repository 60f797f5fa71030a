package entrasim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// grantClientCredentials issues an app-only token. Conditional Access for
// workload identities is not simulated (it needs a separate licence), so
// only client authentication, tenant and scope are checked.
func (s *Server) grantClientCredentials(w http.ResponseWriter, tr *tokenRequest) {
	var app ClientApp
	var found bool
	tr.t.View(func(st *TenantState) {
		if a := st.Apps[tr.clientID]; a != nil {
			app, found = *a, true
		}
	})
	rec := SignIn{
		ID: newGUID(), CreatedDateTime: tr.now, AppID: tr.clientID, AppDisplayName: app.DisplayName,
		ResourceID: GraphAppID, ResourceDisplayName: "Microsoft Graph", IPAddress: tr.ip.String(),
		ConditionalAccessStatus: "notApplied", AppliedConditionalAccessPolicies: []AppliedPolicy{},
		SignInEventTypes: []string{"servicePrincipal"}, CorrelationID: tr.errs.corr, ClientAppUsed: "",
	}
	fail := func(e *aadError) {
		rec.Status = SignInStatus{ErrorCode: e.code, FailureReason: e.failureReason()}
		s.RecordSignIn(tr.t, rec)
		e.write(w)
	}
	if !found {
		fail(tr.errs.appNotFound(tr.clientID, tr.t.ID))
		return
	}
	if app.Public {
		fail(tr.errs.invalidClient(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."))
		return
	}
	if e := s.authenticateClient(tr, &app); e != nil {
		fail(e)
		return
	}
	// MSAL adds the OIDC scopes to every request; they mean nothing here.
	var resourceScopes []string
	for _, sc := range strings.Fields(tr.form.Get("scope")) {
		if !oidcScopes[strings.ToLower(sc)] {
			resourceScopes = append(resourceScopes, sc)
		}
	}
	scope := strings.Join(resourceScopes, " ")
	lower := strings.ToLower(scope)
	if lower != GraphResource+"/.default" && lower != GraphAppID+"/.default" {
		fail(tr.errs.e("invalid_scope", 1002012, "", fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)))
		return
	}
	var lifetime time.Duration
	tr.t.View(func(st *TenantState) { lifetime = st.Options.AccessTokenLifetime })
	spID := deterministicID(tr.t.ID, "servicePrincipal", app.AppID)
	at, err := s.sign.sign(accessTokenClaims{
		Aud: GraphResource, Iss: "https://sts.windows.net/" + tr.t.ID + "/", Iat: tr.now.Unix(), Nbf: tr.now.Unix(),
		Exp: tr.now.Add(lifetime).Unix(), AppID: app.AppID, AppIDAcr: appIDAcr(&app), IDTyp: "app",
		Oid: spID, Roles: app.AppRoles, Sub: spID, Tid: tr.t.ID, Uti: shortID(), Ver: "1.0",
	})
	if err != nil {
		http.Error(w, "signing failed", http.StatusInternalServerError)
		return
	}
	s.RecordSignIn(tr.t, rec)
	writeJSON(w, http.StatusOK, tokenResponse{
		TokenType: "Bearer", ExpiresIn: int64(lifetime / time.Second), ExtExpiresIn: int64(lifetime / time.Second), AccessToken: at,
	})
}

// verifyClientAssertion checks a private_key_jwt client assertion against
// the app's registered certificates. Its validity window is checked against
// the wall clock, since the client signs it with real time.
func (s *Server) verifyClientAssertion(tr *tokenRequest, app *ClientApp, assertion string) *aadError {
	if tr.form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return tr.errs.malformed(900144, "The request body must contain the following parameter: 'client_assertion_type'.")
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return tr.errs.invalidClient(700027, "Client assertion failed signature validation.")
	}
	var h struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &h) != nil {
		return tr.errs.invalidClient(700027, "Client assertion failed signature validation.")
	}
	var cert *x509.Certificate
	for _, p := range app.CertPEMs {
		c, err := parseCertPEM(p)
		if err != nil {
			continue
		}
		s1, s256 := sha1.Sum(c.Raw), sha256.Sum256(c.Raw)
		if sameThumbprint(h.X5t, s1[:]) || sameThumbprint(h.X5tS256, s256[:]) {
			cert = c
		}
	}
	if cert == nil {
		return tr.errs.invalidClient(700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found.]")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return tr.errs.invalidClient(700027, "Client assertion failed signature validation.")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return tr.errs.invalidClient(700027, "Client assertion failed signature validation.")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch h.Alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
	default:
		err = fmt.Errorf("alg %s", h.Alg)
	}
	if err != nil {
		return tr.errs.invalidClient(700027, "Client assertion failed signature validation.")
	}
	var c struct {
		Aud string `json:"aud"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
		Nbf int64  `json:"nbf"`
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(pb, &c) != nil {
		return tr.errs.invalidClient(700027, "Client assertion failed signature validation.")
	}
	if !strings.EqualFold(c.Iss, app.AppID) || !strings.EqualFold(c.Sub, app.AppID) {
		return tr.errs.invalidClient(700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
	}
	if !strings.HasSuffix(strings.ToLower(c.Aud), "/"+tr.t.ID+"/oauth2/v2.0/token") {
		return tr.errs.invalidClient(700027, "Client assertion failed signature validation. [Reason - The audience claim does not match the token endpoint.]")
	}
	now := time.Now()
	if c.Exp != 0 && now.After(time.Unix(c.Exp, 0).Add(5*time.Minute)) || c.Nbf != 0 && now.Before(time.Unix(c.Nbf, 0).Add(-5*time.Minute)) {
		return tr.errs.invalidClient(700024, "Client assertion is not within its valid time range.")
	}
	return nil
}

// sameThumbprint compares a header thumbprint in base64url (RFC 7515) or
// standard base64 (what MSAL sends) with a digest.
func sameThumbprint(header string, digest []byte) bool {
	if header == "" {
		return false
	}
	return header == base64.RawURLEncoding.EncodeToString(digest) || header == base64.StdEncoding.EncodeToString(digest)
}

func parseCertPEM(text string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// certThumbprint is the base64url SHA-1 of the certificate (the x5t value).
func certThumbprint(pemText string) (string, error) {
	c, err := parseCertPEM(pemText)
	if err != nil {
		return "", err
	}
	sum := sha1.Sum(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
