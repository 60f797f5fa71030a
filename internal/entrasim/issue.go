package entrasim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// tokenResponse is the success body of the token endpoint.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// issueDelegated mints the access token, id_token and a rotated refresh
// token, and records the session.
func (s *Server) issueDelegated(w http.ResponseWriter, tr *tokenRequest, g delegatedGrant, out *grantOutcome) {
	var opts TenantOptions
	tr.t.View(func(st *TenantState) { opts = st.Options })
	now := tr.now
	amr := []string{"pwd"}
	if !g.mfaTime.IsZero() {
		amr = append(amr, "mfa")
	}
	sid := g.sessionID.String()
	iss := "https://" + tr.host + "/" + tr.t.ID + "/v2.0"
	at, err := s.sign.sign(accessTokenClaims{
		Aud: GraphResource, Iss: "https://sts.windows.net/" + tr.t.ID + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(opts.AccessTokenLifetime).Unix(),
		Acr: "1", Amr: amr, AppID: out.app.AppID, AppIDAcr: appIDAcr(&out.app), IDTyp: "user",
		IPAddr: tr.ip.String(), Name: out.user.DisplayName, Oid: out.user.ID, Scp: out.scp,
		Sid: sid, Sub: pairwiseSub(out.user.ID, out.app.AppID), Tid: tr.t.ID,
		UPN: out.user.UserPrincipalName, UniqueNm: out.user.UserPrincipalName, Uti: shortID(), Ver: "1.0",
	})
	if err != nil {
		http.Error(w, "signing failed", http.StatusInternalServerError)
		return
	}
	idc := idTokenClaims{
		Aud: out.app.AppID, Iss: iss, Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(opts.IDTokenLifetime).Unix(),
		Amr: amr, Name: out.user.DisplayName, Oid: out.user.ID, PreferredUsername: out.user.UserPrincipalName,
		Sid: sid, Sub: pairwiseSub(out.user.ID, out.app.AppID), Tid: tr.t.ID, Uti: shortID(), Ver: "2.0",
	}
	if opts.IncludeAuthTime {
		idc.AuthTime = g.authTime.Unix()
	}
	idt, err := s.sign.sign(idc)
	if err != nil {
		http.Error(w, "signing failed", http.StatusInternalServerError)
		return
	}
	resp := tokenResponse{
		TokenType: "Bearer", Scope: out.scopeEcho, AccessToken: at, IDToken: idt,
		ExpiresIn: int64(opts.AccessTokenLifetime / time.Second), ExtExpiresIn: int64(opts.AccessTokenLifetime / time.Second),
		ClientInfo: clientInfo(out.user.ID, tr.t.ID),
	}
	if out.wantRT {
		resp.RefreshToken = s.mintRefreshToken(refreshToken{
			tenant: uuid.MustParse(tr.t.ID), user: uuid.MustParse(out.user.ID), client: uuid.MustParse(out.app.AppID),
			session: g.sessionID, authTime: g.authTime, mfaTime: g.mfaTime, issued: now, flow: flowByte(g.flow),
		})
	}
	if g.interactive {
		tr.t.sessions.put(Session{ID: sid, TenantID: tr.t.ID, UserID: out.user.ID, ClientID: out.app.AppID,
			AuthTime: g.authTime, MFATime: g.mfaTime, Flow: g.flow})
	} else {
		tr.t.sessions.redeemed(sid, now)
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, resp)
}

func clientInfo(oid, tid string) string {
	b, _ := json.Marshal(map[string]string{"uid": oid, "utid": tid})
	return base64.RawURLEncoding.EncodeToString(b)
}

// appIDAcr is 0 for public clients, 1 for a secret, 2 for a certificate.
func appIDAcr(app *ClientApp) string {
	switch {
	case app.Public:
		return "0"
	case len(app.CertThumbprints) > 0 && len(app.Secrets) == 0:
		return "2"
	}
	return "1"
}

// pairwiseSub is a stable per-app subject, as v2 tokens use.
func pairwiseSub(oid, appID string) string {
	u := uuid.NewSHA1(uuid.NameSpaceOID, []byte(oid+"/"+appID))
	return base64.RawURLEncoding.EncodeToString(u[:]) + "-sub"
}

func shortID() string {
	u := uuid.New()
	return base64.RawURLEncoding.EncodeToString(u[:])
}

// recordDelegated appends the sign-in record of a delegated grant.
func (s *Server) recordDelegated(tr *tokenRequest, g delegatedGrant, out *grantOutcome) {
	rec := SignIn{
		ID: newGUID(), CreatedDateTime: tr.now, UserID: out.user.ID, UserPrincipalName: out.user.UserPrincipalName,
		UserDisplayName: out.user.DisplayName, AppID: tr.clientID, AppDisplayName: out.app.DisplayName,
		ResourceID: GraphAppID, ResourceDisplayName: "Microsoft Graph", IPAddress: tr.ip.String(),
		ClientAppUsed: "Mobile Apps and Desktop clients", IsInteractive: g.interactive,
		ConditionalAccessStatus: out.ca.status, AppliedConditionalAccessPolicies: out.ca.applied,
		CorrelationID: tr.errs.corr, SessionLifetimePolicies: out.ca.lifetimes,
		IncomingTokenType: g.incoming, AuthenticationProtocol: g.protocol,
		DeviceDetail:              SignInDevice{OperatingSystem: tr.platform},
		AuthenticationRequirement: "singleFactorAuthentication",
	}
	if rec.CorrelationID == "" {
		rec.CorrelationID = newGUID()
	}
	tr.t.View(func(st *TenantState) { rec.Location.CountryOrRegion = st.countryOf(tr.ip) })
	if g.flow == FlowDeviceCode {
		rec.OriginalTransferMethod = "deviceCodeFlow"
	}
	if g.interactive {
		rec.SignInEventTypes = []string{"interactiveUser"}
	} else {
		rec.SignInEventTypes = []string{"nonInteractiveUser"}
	}
	if out.ca.mfaNeeded || out.perUser {
		rec.AuthenticationRequirement = "multiFactorAuthentication"
	}
	if rec.AppliedConditionalAccessPolicies == nil {
		rec.AppliedConditionalAccessPolicies = []AppliedPolicy{}
	}
	if out.err != nil {
		rec.Status = SignInStatus{ErrorCode: out.err.code, FailureReason: out.err.failureReason()}
		if out.err.code == 50078 {
			rec.SessionLifetimePolicies = append(rec.SessionLifetimePolicies, SessionLifetimePolicy{
				ExpirationRequirement: "rememberMultifactorAuthenticationOnTrustedDevices",
				Detail:                "The remembered multifactor authentication expired; MFA must be performed again.",
			})
		}
		if out.err.code == 700082 {
			rec.SessionLifetimePolicies = append(rec.SessionLifetimePolicies, SessionLifetimePolicy{
				ExpirationRequirement: "tenantTokenLifetimePolicy",
				Detail:                "The refresh token expired after its maximum inactive time.",
			})
		}
	}
	if out.ca.status == "" {
		rec.ConditionalAccessStatus = "notApplied"
	}
	s.RecordSignIn(tr.t, rec)
}
