package entrasim

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// maxFormBytes bounds token request bodies.
const maxFormBytes = 64 << 10

// handleToken is POST /{tenant}/oauth2/v2.0/token: dispatch by grant_type.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		stsErrors{now: s.Now()}.malformed(900144, "The request body must contain the following parameter: 'grant_type'.").write(w)
		return
	}
	t := s.tenantFromPath(w, r)
	if t == nil {
		return
	}
	tr := s.newTokenRequest(r, t)
	if tr.clientID == "" {
		tr.errs.malformed(900144, "The request body must contain the following parameter: 'client_id'.").write(w)
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "refresh_token":
		s.grantRefresh(w, tr)
	case "device_code", "urn:ietf:params:oauth:grant-type:device_code":
		s.grantDeviceCode(w, tr)
	case "authorization_code":
		s.grantAuthorizationCode(w, tr)
	case "client_credentials":
		s.grantClientCredentials(w, tr)
	case "":
		tr.errs.malformed(900144, "The request body must contain the following parameter: 'grant_type'.").write(w)
	default:
		tr.errs.e("unsupported_grant_type", 70003, "", "The app requested an unsupported grant type '"+gt+"'.").write(w)
	}
}

// grantRefresh redeems a refresh token. The token carries its session;
// inactivity counts from the presented token's own issue time, so an older
// token from the same session keeps working until it expires (Entra does
// not revoke a refresh token when it is used).
func (s *Server) grantRefresh(w http.ResponseWriter, tr *tokenRequest) {
	raw := tr.form.Get("refresh_token")
	if raw == "" {
		tr.errs.malformed(900144, "The request body must contain the following parameter: 'refresh_token'.").write(w)
		return
	}
	rt, err := s.openRefreshToken(raw)
	if err != nil {
		tr.errs.invalidGrant(9002313, "Invalid request. Request is malformed or invalid.").write(w)
		return
	}
	if rt.tenant.String() != tr.t.ID {
		tr.errs.invalidGrant(9002313, "Invalid request. Request is malformed or invalid.").write(w)
		return
	}
	if rt.client.String() != tr.clientID {
		tr.errs.e("invalid_grant", 70000, "client_mismatch",
			"Provided grant is invalid or malformed. The refresh token was issued to a different client.").write(w)
		return
	}
	s.completeDelegated(w, tr, delegatedGrant{
		userID: rt.user.String(), sessionID: rt.session, authTime: rt.authTime, mfaTime: rt.mfaTime,
		flow: flowName(rt.flow), rtIssued: rt.issued, incoming: "refreshToken", protocol: protocolOf(flowName(rt.flow)),
	})
}

func protocolOf(flow string) string {
	if flow == FlowDeviceCode {
		return "deviceCode"
	}
	return "none"
}

// newSessionID starts a session for an interactive authentication.
func newSessionID() uuid.UUID { return uuid.New() }

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// splitScopes splits a scope parameter.
func splitScopes(s string) []string { return strings.Fields(s) }
