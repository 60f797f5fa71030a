package entrasim

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// tokenRequest is one POST to /{tenant}/oauth2/v2.0/token (or devicecode).
type tokenRequest struct {
	r        *http.Request
	t        *Tenant
	form     url.Values
	now      time.Time
	errs     stsErrors
	clientID string
	ip       netip.Addr
	platform string
	host     string
}

func (s *Server) newTokenRequest(r *http.Request, t *Tenant) *tokenRequest {
	now := s.Now()
	tr := &tokenRequest{
		r: r, t: t, form: r.PostForm, now: now, host: hostOf(r),
		errs:     stsErrors{now: now, corr: r.Header.Get("client-request-id")},
		clientID: strings.ToLower(r.PostForm.Get("client_id")),
		platform: clientPlatform(r),
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil {
			tr.ip = ip.Unmap()
		}
	}
	if tr.clientID == "" {
		if id, _, ok := r.BasicAuth(); ok {
			tr.clientID = strings.ToLower(id)
		}
	}
	return tr
}

// clientPlatform maps MSAL's x-client-os header (Go: runtime.GOOS; Python:
// sys.platform) or the user agent to a CA device platform.
func clientPlatform(r *http.Request) string {
	hint := strings.ToLower(r.Header.Get("x-client-os"))
	if hint == "" {
		hint = strings.ToLower(r.UserAgent())
	}
	switch {
	case strings.Contains(hint, "android"):
		return "android"
	case strings.Contains(hint, "ios") || strings.Contains(hint, "iphone"):
		return "iOS"
	case strings.Contains(hint, "win"):
		return "windows"
	case strings.Contains(hint, "darwin") || strings.Contains(hint, "mac"):
		return "macOS"
	case strings.Contains(hint, "linux"):
		return "linux"
	}
	return ""
}

// delegatedGrant is a user authentication about to be turned into tokens:
// the facts of its session and how this request presented it.
type delegatedGrant struct {
	userID      string
	sessionID   uuid.UUID
	authTime    time.Time
	mfaTime     time.Time
	flow        string // the flow the session began with
	interactive bool
	rtIssued    time.Time // refresh grants: when the presented RT was minted
	incoming    string    // beta incomingTokenType: none or refreshToken
	protocol    string    // beta authenticationProtocol: deviceCode, authorizationCode, none
}

// grantOutcome is everything decided under the tenant lock.
type grantOutcome struct {
	err       *aadError
	user      User // copy for the token claims and the sign-in record
	app       ClientApp
	ca        caOutcome
	perUser   bool // per-user MFA required
	scp       string
	scopeEcho string
	resource  string
	wantRT    bool
}

// completeDelegated runs every check Entra makes on a delegated grant
// (client, user state, revocation, consent, CA, per-user MFA), records the
// sign-in, and answers with tokens or the error.
func (s *Server) completeDelegated(w http.ResponseWriter, tr *tokenRequest, g delegatedGrant) {
	var out grantOutcome
	tr.t.View(func(st *TenantState) { out = s.decideDelegated(st, tr, &g) })
	s.recordDelegated(tr, g, &out)
	if out.err != nil {
		out.err.write(w)
		return
	}
	s.issueDelegated(w, tr, g, &out)
}

func (s *Server) decideDelegated(st *TenantState, tr *tokenRequest, g *delegatedGrant) (out grantOutcome) {
	errs := tr.errs
	app := st.Apps[tr.clientID]
	if u := st.Users[g.userID]; u != nil {
		out.user = *u
	}
	if app == nil {
		out.err = errs.appNotFound(tr.clientID, tr.t.ID)
		return out
	}
	out.app = *app
	if out.err = s.authenticateClient(tr, app); out.err != nil {
		return out
	}
	u := st.Users[g.userID]
	if u == nil {
		out.err = errs.invalidGrant(50034, "The user account "+g.userID+" does not exist in the "+tr.t.ID+" directory. To sign into this application, the account must be added to the directory.")
		return out
	}
	opts := st.Options
	if !g.interactive && tr.now.Sub(g.rtIssued) > opts.RefreshTokenInactivity {
		out.err = errs.inactive(g.rtIssued, opts.RefreshTokenInactivity)
		return out
	}
	if !u.AccountEnabled {
		out.err = errs.disabled()
		return out
	}
	if u.Locked {
		out.err = errs.locked()
		return out
	}
	if g.authTime.Before(u.TokensValidFrom) {
		out.err = errs.revoked(g.authTime, u.TokensValidFrom)
		return out
	}
	if g.interactive {
		expiry := u.LastPasswordChange.Add(time.Duration(st.PasswordValidityDays()) * 24 * time.Hour)
		if !tr.now.Before(expiry) {
			out.err = errs.passwordExpired()
			return out
		}
	}
	res, err := resolveScopes(tr.form.Get("scope"), app, tr.t, errs)
	if err != nil {
		out.err = err
		return out
	}
	out.scp, out.scopeEcho, out.resource, out.wantRT = res.scp, res.echo, res.resourceID, res.offline
	in := &caInput{
		user: u, resourceID: res.resourceID, clientID: app.AppID, platform: tr.platform, ip: tr.ip,
		country: st.countryOf(tr.ip), interactive: g.interactive,
		deviceCodeTracked: g.flow == FlowDeviceCode,
		authTime:          g.authTime, mfaTime: g.mfaTime,
		rememberMFA: time.Duration(opts.RememberMFADays) * 24 * time.Hour,
		now:         tr.now, locations: st.locIndex,
	}
	out.ca = evaluateCA(st.Policies, in, errs)
	perUserOn := u.PerUserMFAState != PerUserMFADisabled && u.PerUserMFAState != ""
	if g.interactive && in.mfaTime.IsZero() && u.HasMFAMethod() && (out.ca.mfaNeeded || perUserOn) {
		// Step-up: the user at the sign-in page is prompted for MFA and
		// completes it with a registered method; the session gets the claim.
		g.mfaTime, in.mfaTime = tr.now, tr.now
		out.ca = evaluateCA(st.Policies, in, errs)
	}
	if out.ca.err != nil {
		out.err = out.ca.err
		return out
	}
	out.err = checkPerUserMFA(u, in, errs)
	out.perUser = perUserOn
	return out
}

// checkPerUserMFA applies legacy per-user MFA: enabled or enforced users
// need an MFA claim on every sign-in, refreshed within the tenant's
// "remember MFA on trusted devices" period.
func checkPerUserMFA(u *User, in *caInput, errs stsErrors) *aadError {
	if u.PerUserMFAState == PerUserMFADisabled || u.PerUserMFAState == "" {
		return nil
	}
	switch {
	case !u.HasMFAMethod():
		return errs.mfaRegistration(in.resourceID)
	case in.mfaTime.IsZero():
		return errs.mfaRequired(in.resourceID)
	case in.rememberMFA > 0 && in.now.Sub(in.mfaTime) > in.rememberMFA:
		return errs.mfaExpired(in.resourceID)
	}
	return nil
}

// authenticateClient checks the client credentials an app must (or must
// not) present.
func (s *Server) authenticateClient(tr *tokenRequest, app *ClientApp) *aadError {
	secret := tr.form.Get("client_secret")
	if secret == "" {
		if _, pw, ok := tr.r.BasicAuth(); ok {
			secret = pw
		}
	}
	assertion := tr.form.Get("client_assertion")
	if app.Public {
		if secret != "" || assertion != "" {
			return tr.errs.invalidClient(700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
		}
		return nil
	}
	switch {
	case assertion != "":
		return s.verifyClientAssertion(tr, app, assertion)
	case secret != "":
		for _, want := range app.Secrets {
			if constantTimeEqual(secret, want) {
				return nil
			}
		}
		return tr.errs.badSecret(app.AppID)
	}
	return tr.errs.invalidClient(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}
