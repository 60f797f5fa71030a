package entrasim

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// deviceCodeLifetime is Entra's device code validity (expires_in 900).
const deviceCodeLifetime = 15 * time.Minute

const verificationURI = "https://microsoft.com/devicelogin"

// handleDeviceCode is POST /{tenant}/oauth2/v2.0/devicecode.
func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		stsErrors{now: s.Now()}.malformed(900144, "The request body must contain the following parameter: 'client_id'.").write(w)
		return
	}
	t := s.tenantFromPath(w, r)
	if t == nil {
		return
	}
	tr := s.newTokenRequest(r, t)
	var app *ClientApp
	t.View(func(st *TenantState) { app = st.Apps[tr.clientID] })
	switch {
	case tr.clientID == "":
		tr.errs.malformed(900144, "The request body must contain the following parameter: 'client_id'.").write(w)
		return
	case app == nil:
		tr.errs.appNotFound(tr.clientID, t.ID).write(w)
		return
	case !app.Public:
		tr.errs.invalidClient(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.").write(w)
		return
	}
	g := &deviceCodeGrant{
		tenant: t, clientID: tr.clientID, scopes: splitScopes(tr.form.Get("scope")),
		deviceCode: randomToken(48), userCode: userCode(), expires: tr.now.Add(deviceCodeLifetime),
	}
	s.flowMu.Lock()
	s.pruneFlowsLocked(tr.now)
	s.deviceCodes[g.deviceCode] = g
	s.userCodes[g.userCode] = g
	s.flowMu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code": g.userCode, "device_code": g.deviceCode, "verification_uri": verificationURI,
		"expires_in": int(deviceCodeLifetime / time.Second), "interval": 5,
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verificationURI, g.userCode),
	})
}

// grantDeviceCode is a poll of the token endpoint with a device code.
func (s *Server) grantDeviceCode(w http.ResponseWriter, tr *tokenRequest) {
	code := tr.form.Get("device_code")
	s.flowMu.Lock()
	g := s.deviceCodes[code]
	if g == nil || g.tenant != tr.t || g.clientID != tr.clientID || g.redeemed {
		s.flowMu.Unlock()
		tr.errs.invalidGrant(70000, "The provided value for the 'device_code' is not valid.").write(w)
		return
	}
	if !tr.now.Before(g.expires) {
		delete(s.deviceCodes, code)
		delete(s.userCodes, g.userCode)
		s.flowMu.Unlock()
		tr.errs.codeExpired().write(w)
		return
	}
	if g.declined {
		delete(s.deviceCodes, code)
		delete(s.userCodes, g.userCode)
		s.flowMu.Unlock()
		tr.errs.declined().write(w)
		return
	}
	if !g.approved {
		var auto bool
		var userID string
		var mfa bool
		tr.t.View(func(st *TenantState) {
			auto, userID, mfa = st.Options.AutoApproveDeviceCode, st.InteractiveUserID(), st.Options.InteractiveMFA
		})
		if !auto {
			s.flowMu.Unlock()
			tr.errs.pending().write(w)
			return
		}
		s.approveLocked(g, userID, mfa, false, tr.now)
	}
	g.redeemed = true
	delete(s.deviceCodes, code)
	delete(s.userCodes, g.userCode)
	s.flowMu.Unlock()
	if tr.form.Get("scope") == "" { // the grant keeps the scopes of its device code request
		tr.form.Set("scope", strings.Join(g.scopes, " "))
	}
	s.completeDelegated(w, tr, delegatedGrant{
		userID: g.userID, sessionID: newSessionID(), authTime: g.authTime, mfaTime: s.mfaTimeFor(g.tenant, g.userID, g.mfa, tr.now, g.authTime),
		flow: FlowDeviceCode, interactive: true, incoming: "none", protocol: "deviceCode",
	})
}

// DeviceCodeDecision is an approval or decline of a pending device code.
type DeviceCodeDecision struct {
	UserCode string `json:"user_code"`
	// User (UPN or id) who signs in; default: the tenant's interactive user.
	User string `json:"user"`
	// MFA says whether the sign-in performs MFA (needs a registered method).
	MFA bool `json:"mfa"`
	// Fresh ignores the user's existing browser session and authenticates
	// now; by default the browser session's authentication time is reused.
	Fresh   bool `json:"fresh"`
	Decline bool `json:"decline"`
}

// DecideDeviceCode approves or declines a pending device code, as the user
// entering it at the verification page would.
func (s *Server) DecideDeviceCode(d DeviceCodeDecision) error {
	now := s.Now()
	s.flowMu.Lock()
	defer s.flowMu.Unlock()
	g := s.userCodes[strings.ToUpper(strings.TrimSpace(d.UserCode))]
	if g == nil || !now.Before(g.expires) {
		return fmt.Errorf("user_code %q: %w (unknown or expired)", d.UserCode, ErrNotFound)
	}
	if d.Decline {
		g.declined = true
		return nil
	}
	userID := ""
	var err error
	g.tenant.View(func(st *TenantState) {
		if d.User == "" {
			userID = st.InteractiveUserID()
			return
		}
		if u := st.UserByUPNOrID(d.User); u != nil {
			userID = u.ID
		} else {
			err = fmt.Errorf("user %q: %w in tenant %s", d.User, ErrNotFound, g.tenant.Domain)
		}
	})
	if err != nil {
		return err
	}
	s.approveLocked(g, userID, d.MFA, d.Fresh, now)
	return nil
}

// approveLocked marks g approved for userID. With an existing browser
// session (and not fresh) the sign-in reuses that session's authentication
// time, as SSO does; otherwise the user authenticates now.
func (s *Server) approveLocked(g *deviceCodeGrant, userID string, mfa, fresh bool, now time.Time) {
	g.approved, g.userID, g.mfa, g.authTime = true, userID, mfa, now
	if bs, ok := s.browserSessions[g.tenant.ID][userID]; ok && !fresh {
		g.authTime = bs.authTime
		g.mfa = mfa || bs.mfa
	}
}

// mfaTimeFor is when the session's MFA claim was earned: at the reused
// browser session's authentication if it carried MFA, else now; zero when
// no MFA was performed or the user has no method to perform it with.
func (s *Server) mfaTimeFor(t *Tenant, userID string, mfa bool, now, authTime time.Time) time.Time {
	if !mfa {
		return time.Time{}
	}
	hasMethod := false
	t.View(func(st *TenantState) {
		if u := st.Users[userID]; u != nil {
			hasMethod = u.HasMFAMethod()
		}
	})
	if !hasMethod {
		return time.Time{}
	}
	if bs, ok := s.browserSessions[t.ID][userID]; ok && bs.mfa && authTime.Equal(bs.authTime) {
		return bs.authTime
	}
	return now
}

// pruneFlowsLocked drops expired device and authorization codes.
func (s *Server) pruneFlowsLocked(now time.Time) {
	for k, g := range s.deviceCodes {
		if now.Sub(g.expires) > time.Hour {
			delete(s.deviceCodes, k)
			delete(s.userCodes, g.userCode)
		}
	}
	for k, g := range s.authCodes {
		if now.Sub(g.expires) > time.Hour {
			delete(s.authCodes, k)
		}
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// userCode is 9 characters from an alphabet without look-alikes, like
// Entra's codes.
func userCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
