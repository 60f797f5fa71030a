package entrasim

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// serve wraps a Graph handler with what every Graph request goes through:
// a valid bearer token from this simulator (tenant taken from the token),
// then a pending CAE challenge for the tenant.
func (g *graphAPI) serve(version string, h graphHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rc := &graphRequest{g: g, w: w, r: r, version: version, now: g.s.Now(), reqID: newGUID()}
		defer func() { g.count(rc.status) }()
		t, c, err := g.s.ValidateBearer(r)
		if err != nil {
			// Graph's challenge without claims: the SDK must not retry it.
			w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="`+GraphAppID+`"`)
			rc.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", unauthorizedMessage(err))
			return
		}
		rc.tenant, rc.claims = t, c
		if g.caeChallenged(t.ID, bearerFingerprint(r)) {
			rc.caeChallenge()
			return
		}
		h(rc)
	}
}

// unauthorizedMessage words a token failure as Graph does, without echoing
// any part of the token.
func unauthorizedMessage(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "no bearer token"):
		return "Access token is empty."
	case strings.Contains(msg, "expired"):
		return "Lifetime validation failed, the token is expired."
	}
	if errors.Is(err, ErrInvalidToken) {
		return "Access token validation failure. Invalid audience or signature."
	}
	return "Access token validation failure."
}

func bearerFingerprint(r *http.Request) [16]byte {
	h := r.Header.Get("Authorization")
	if i := strings.IndexByte(h, ' '); i >= 0 {
		h = strings.TrimSpace(h[i+1:])
	}
	sum := sha256.Sum256([]byte(h))
	var fp [16]byte
	copy(fp[:], sum[:16])
	return fp
}

// maxRejectedTokens bounds the per-tenant memory of CAE-rejected tokens.
const maxRejectedTokens = 1024

// caeChallenged reports whether this token must be challenged: an armed
// challenge takes the first token it sees (and disarms), and a token once
// challenged stays rejected, as a revoked session's tokens do in Graph.
func (g *graphAPI) caeChallenged(tenantID string, fp [16]byte) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rejected[tenantID][fp] {
		return true
	}
	c := g.controls[tenantID]
	if c == nil || !c.CAEChallenge {
		return false
	}
	c.CAEChallenge = false
	set := g.rejected[tenantID]
	if set == nil || len(set) >= maxRejectedTokens {
		set = map[[16]byte]bool{}
		g.rejected[tenantID] = set
	}
	set[fp] = true
	return true
}

// caeChallenge answers 401 insufficient_claims with a claims request that
// only a token issued from now on satisfies (the nbf claim challenge Graph
// sends after a critical event).
func (rc *graphRequest) caeChallenge() {
	claims := fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, rc.now.Unix())
	rc.w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="`+
		base64.StdEncoding.EncodeToString([]byte(claims))+`"`)
	rc.fail(http.StatusUnauthorized, "InvalidAuthenticationToken",
		"Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp")
}

// permission is one requirement: any of the names satisfies it.
type permission []string

// Permissions each endpoint requires (least privileged first, as the Graph
// reference lists them). Delegated tokens are checked against scp,
// app-only tokens against roles.
var (
	permPolicies    = permission{"Policy.Read.All", "Policy.Read.ConditionalAccess", "Policy.ReadWrite.ConditionalAccess"}
	permUsers       = permission{"User.Read.All", "Directory.Read.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}
	permMe          = permission{"User.Read", "User.Read.All", "Directory.Read.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}
	permMemberships = permission{"GroupMember.Read.All", "Directory.Read.All", "Group.Read.All", "Directory.ReadWrite.All"}
	permDomains     = permission{"Domain.Read.All", "Directory.Read.All", "Domain.ReadWrite.All", "Directory.ReadWrite.All"}
	permAuditLog    = permission{"AuditLog.Read.All"}
	permDirectory   = permission{"Directory.Read.All", "Directory.ReadWrite.All"}
	permAuthMethods = permission{"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All", "Policy.Read.All"}
)

// permitted checks the token against every requirement; on failure it
// writes the 403 the given Graph area sends and returns false.
func (rc *graphRequest) permitted(area string, reqs ...permission) bool {
	if rc.g.s.GraphControls(rc.tenant.ID).SkipScopeCheck {
		return true
	}
	granted := map[string]bool{}
	for _, p := range rc.claims.Scopes {
		granted[strings.ToLower(p)] = true
	}
	for _, p := range rc.claims.Roles {
		granted[strings.ToLower(p)] = true
	}
	for _, req := range reqs {
		ok := false
		for _, name := range req {
			ok = ok || granted[strings.ToLower(name)]
		}
		if ok {
			continue
		}
		switch area {
		case "auditLogs":
			rc.fail(http.StatusForbidden, "Authentication_MSGraphPermissionMissing",
				"Calling principal does not have required MSGraph permissions "+req[0])
		case "conditionalAccess":
			rc.fail(http.StatusForbidden, "AccessDenied",
				"You cannot perform the requested operation, required scopes are missing in the token.")
		default:
			rc.fail(http.StatusForbidden, "Authorization_RequestDenied",
				"Insufficient privileges to complete the operation.")
		}
		return false
	}
	return true
}

// licensed fails sign-in log reads in a tenant switched to "no P1", with
// the error Graph gives tenants without Entra ID P1.
func (rc *graphRequest) licensed() bool {
	if !rc.g.s.GraphControls(rc.tenant.ID).NoP1Licence {
		return true
	}
	rc.fail(http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
		"Neither tenant is B2C or tenant doesn't have premium license")
	return false
}
