package entrasim

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// authCodeLifetime is how long an authorization code can be redeemed.
const authCodeLifetime = 10 * time.Minute

// handleAuthorize is GET /{tenant}/oauth2/v2.0/authorize. There is no
// browser: the scenario's user (login_hint, else the tenant's interactive
// user) signs in at once and the endpoint redirects with a code. The query
// parameter sim_mfa=true/false overrides whether that sign-in performs MFA;
// sim_fresh=true ignores the user's existing browser session.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	t := s.tenantFromPath(w, r)
	if t == nil {
		return
	}
	q := r.URL.Query()
	now := s.Now()
	errs := stsErrors{now: now, corr: r.Header.Get("client-request-id")}
	clientID := strings.ToLower(q.Get("client_id"))
	redirect := q.Get("redirect_uri")
	var app *ClientApp
	var userID string
	var mfa bool
	t.View(func(st *TenantState) {
		app = st.Apps[clientID]
		userID, mfa = st.InteractiveUserID(), st.Options.InteractiveMFA
		if hint := q.Get("login_hint"); hint != "" {
			if u := st.UserByUPNOrID(hint); u != nil {
				userID = u.ID
			} else {
				userID = ""
			}
		}
	})
	switch {
	case app == nil:
		errs.appNotFound(clientID, t.ID).write(w)
		return
	case q.Get("response_type") != "code":
		errs.malformed(900144, "The request body must contain the following parameter: 'response_type'.").write(w)
		return
	case !redirectAllowed(app, redirect):
		errs.malformed(50011, "The redirect URI '"+redirect+"' specified in the request does not match the redirect URIs configured for the application '"+app.AppID+"'.").write(w)
		return
	case userID == "":
		errs.invalidGrant(50034, "The user account "+q.Get("login_hint")+" does not exist in the "+t.ID+" directory. To sign into this application, the account must be added to the directory.").write(w)
		return
	}
	if v := q.Get("sim_mfa"); v != "" {
		mfa = v == "true"
	}
	method := q.Get("code_challenge_method")
	if q.Get("code_challenge") != "" && method == "" {
		method = "plain"
	}
	if method != "" && method != "S256" && method != "plain" {
		errs.malformed(501491, "Invalid code_challenge_method '"+method+"'.").write(w)
		return
	}
	g := &deviceCodeGrant{tenant: t} // reuse the SSO decision of device code
	s.approveLocked(g, userID, mfa, q.Get("sim_fresh") == "true", now)
	code := &authCodeGrant{
		tenant: t, clientID: clientID, redirectURI: redirect, scopes: splitScopes(q.Get("scope")),
		challenge: q.Get("code_challenge"), method: method, nonce: q.Get("nonce"),
		userID: userID, authTime: g.authTime, mfa: g.mfa, expires: now.Add(authCodeLifetime),
	}
	value := randomToken(64)
	s.flowMu.Lock()
	s.pruneFlowsLocked(now)
	s.authCodes[value] = code
	s.flowMu.Unlock()
	params := url.Values{"code": {value}, "session_state": {newGUID()}}
	if st := q.Get("state"); st != "" {
		params.Set("state", st)
	}
	if q.Get("response_mode") == "form_post" {
		writeFormPost(w, redirect, params)
		return
	}
	u, err := url.Parse(redirect)
	if err != nil {
		errs.malformed(50011, "The redirect URI '"+redirect+"' is not a valid URI.").write(w)
		return
	}
	rq := u.Query()
	for k, v := range params {
		rq[k] = v
	}
	u.RawQuery = rq.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// writeFormPost answers response_mode=form_post the way Entra does: a page
// whose script posts the parameters to the redirect URI.
func writeFormPost(w http.ResponseWriter, action string, params url.Values) {
	var b strings.Builder
	b.WriteString(`<html><head><title>Working...</title></head><body><form method="POST" name="hiddenform" action="`)
	b.WriteString(html.EscapeString(action))
	b.WriteString(`">`)
	for _, k := range []string{"code", "state", "session_state"} {
		if v := params.Get(k); v != "" {
			fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s" />`, k, html.EscapeString(v))
		}
	}
	b.WriteString(`<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript></form>`)
	b.WriteString(`<script language="javascript">window.setTimeout('document.forms[0].submit()', 0);</script></body></html>`)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	_, _ = io.WriteString(w, b.String())
}

// redirectAllowed accepts a registered redirect URI, or, for an app with
// none registered, a loopback or native-client URI.
func redirectAllowed(app *ClientApp, redirect string) bool {
	if redirect == "" {
		return false
	}
	if len(app.RedirectURIs) > 0 {
		return slices.Contains(app.RedirectURIs, redirect)
	}
	u, err := url.Parse(redirect)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "::1" ||
		redirect == "https://login.microsoftonline.com/common/oauth2/nativeclient"
}

// grantAuthorizationCode redeems a code, checking PKCE.
func (s *Server) grantAuthorizationCode(w http.ResponseWriter, tr *tokenRequest) {
	value := tr.form.Get("code")
	s.flowMu.Lock()
	g := s.authCodes[value]
	if g != nil && g.redeemed {
		s.flowMu.Unlock()
		tr.errs.invalidGrant(54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.").write(w)
		return
	}
	if g == nil || g.tenant != tr.t {
		s.flowMu.Unlock()
		tr.errs.invalidGrant(9002313, "Invalid request. Request is malformed or invalid.").write(w)
		return
	}
	if !tr.now.Before(g.expires) {
		s.flowMu.Unlock()
		tr.errs.invalidGrant(70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.").write(w)
		return
	}
	if g.clientID != tr.clientID || g.redirectURI != tr.form.Get("redirect_uri") {
		s.flowMu.Unlock()
		tr.errs.invalidGrant(500112, "The reply address '"+tr.form.Get("redirect_uri")+"' does not match the reply address '"+g.redirectURI+"' provided when requesting Authorization code.").write(w)
		return
	}
	if !pkceOK(g.challenge, g.method, tr.form.Get("code_verifier")) {
		s.flowMu.Unlock()
		tr.errs.invalidGrant(501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.").write(w)
		return
	}
	g.redeemed = true
	s.flowMu.Unlock()
	if tr.form.Get("scope") == "" {
		tr.form.Set("scope", strings.Join(g.scopes, " "))
	}
	s.completeDelegated(w, tr, delegatedGrant{
		userID: g.userID, sessionID: newSessionID(), authTime: g.authTime,
		mfaTime: s.mfaTimeFor(g.tenant, g.userID, g.mfa, tr.now, g.authTime),
		flow:    FlowAuthorizationCode, interactive: true, incoming: "none", protocol: "none",
	})
}

// pkceOK verifies RFC 7636. A request without a challenge needs no verifier.
func pkceOK(challenge, method, verifier string) bool {
	if challenge == "" {
		return true
	}
	if verifier == "" {
		return false
	}
	if method == "plain" {
		return constantTimeEqual(challenge, verifier)
	}
	sum := sha256.Sum256([]byte(verifier))
	return constantTimeEqual(challenge, base64.RawURLEncoding.EncodeToString(sum[:]))
}
