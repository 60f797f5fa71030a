package entrasim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
)

// POST /identity/conditionalAccess/evaluate: Microsoft's What If API,
// answered with the simulator's own CA evaluator (ca_eval.go), so a What If
// "second opinion" agrees with what the token endpoint enforces.

type whatIfRequest struct {
	SignInIdentity *struct {
		Type               string `json:"@odata.type"`
		UserID             string `json:"userId"`
		ServicePrincipalID string `json:"servicePrincipalId"`
	} `json:"signInIdentity"`
	SignInContext *struct {
		Type                string   `json:"@odata.type"`
		IncludeApplications []string `json:"includeApplications"`
		UserAction          string   `json:"userAction"`
		AuthenticationCtx   string   `json:"authenticationContextValue"`
	} `json:"signInContext"`
	SignInConditions *struct {
		ClientAppType      string `json:"clientAppType"`
		DevicePlatform     string `json:"devicePlatform"`
		IPAddress          string `json:"ipAddress"`
		Country            string `json:"country"`
		SignInRiskLevel    string `json:"signInRiskLevel"`
		UserRiskLevel      string `json:"userRiskLevel"`
		ServicePrincipal   string `json:"servicePrincipalRiskLevel"`
		InsiderRiskLevel   string `json:"insiderRiskLevel"`
		AuthenticationFlow *struct {
			TransferMethod string `json:"transferMethod"`
		} `json:"authenticationFlow"`
	} `json:"signInConditions"`
	AppliedPoliciesOnly bool `json:"appliedPoliciesOnly"`
}

func (g *graphAPI) evaluate(rc *graphRequest) {
	if !rc.permitted("conditionalAccess", permPolicies) || !rc.allow(bucketCA) {
		return
	}
	var req whatIfRequest
	body, err := requestBody(rc.w, rc.r)
	if err != nil {
		rc.badRequest("Invalid request body: %v", err)
		return
	}
	defer body.Close()
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		rc.badRequest("Invalid request body: %v", err)
		return
	}
	switch {
	case req.SignInIdentity == nil:
		rc.badRequest("signInIdentity is required.")
		return
	case req.SignInIdentity.ServicePrincipalID != "" || strings.Contains(req.SignInIdentity.Type, "servicePrincipalSignIn"):
		rc.fail(http.StatusNotImplemented, "notSupported", "The simulator evaluates user sign-ins only (servicePrincipalSignIn is not simulated).")
		return
	case req.SignInIdentity.UserID == "":
		rc.badRequest("signInIdentity.userId is required.")
		return
	case req.SignInContext == nil || (len(req.SignInContext.IncludeApplications) == 0 && req.SignInContext.UserAction == "" && req.SignInContext.AuthenticationCtx == ""):
		rc.badRequest("signInContext.includeApplications is required.")
		return
	}
	in := &caInput{resourceID: GraphAppID, now: rc.now}
	clientAppType := ClientAppTypeDesktop
	if c := req.SignInConditions; c != nil {
		for name, level := range map[string]string{"signInRiskLevel": c.SignInRiskLevel, "userRiskLevel": c.UserRiskLevel,
			"servicePrincipalRiskLevel": c.ServicePrincipal, "insiderRiskLevel": c.InsiderRiskLevel} {
			if level != "" && level != "none" {
				rc.fail(http.StatusNotImplemented, "notSupported", "signInConditions."+name+": the simulator has no risk signals; only \"none\" is evaluated.")
				return
			}
		}
		if c.ClientAppType != "" {
			clientAppType = c.ClientAppType
		}
		in.platform = c.DevicePlatform
		in.country = strings.ToUpper(c.Country)
		if c.IPAddress != "" {
			ip, err := netip.ParseAddr(c.IPAddress)
			if err != nil {
				rc.badRequest("signInConditions.ipAddress '%s' is not an IP address.", c.IPAddress)
				return
			}
			in.ip = ip
		}
		if f := c.AuthenticationFlow; f != nil {
			in.deviceCodeTracked = strings.Contains(f.TransferMethod, "deviceCodeFlow")
		}
	}
	ctx := req.SignInContext
	if ctx.UserAction != "" || ctx.AuthenticationCtx != "" {
		rc.fail(http.StatusNotImplemented, "notSupported", "The simulator evaluates application sign-ins only (user actions and authentication contexts are not simulated).")
		return
	}
	in.resourceID = strings.ToLower(ctx.IncludeApplications[0])
	var results []any
	found := false
	rc.tenant.View(func(st *TenantState) {
		u := st.UserByUPNOrID(req.SignInIdentity.UserID)
		if u == nil {
			return
		}
		found = true
		in.user, in.locations = u, st.locIndex
		if in.country == "" && in.ip.IsValid() {
			in.country = st.countryOf(in.ip)
		}
		for _, p := range st.Policies {
			applies, reasons := whatIf(p, in, clientAppType)
			if req.AppliedPoliciesOnly && !applies {
				continue
			}
			results = append(results, withWhatIfFields(p.Raw, applies, reasons))
		}
	})
	if !found {
		rc.notFound(req.SignInIdentity.UserID)
		return
	}
	if results == nil {
		results = []any{}
	}
	rc.reply(map[string]any{"@odata.context": rc.contextURL("Collection(microsoft.graph.whatIfAnalysisResult)"), "value": results})
}

// requestBody returns the request body, gunzipped when the client
// compressed it (kiota's compression middleware gzips every request body,
// and Graph accepts that).
func requestBody(w http.ResponseWriter, r *http.Request) (io.ReadCloser, error) {
	limited := http.MaxBytesReader(w, r.Body, 1<<20)
	if !strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		return limited, nil
	}
	zr, err := gzip.NewReader(limited)
	if err != nil {
		return nil, fmt.Errorf("Content-Encoding gzip: %w", err)
	}
	return zr, nil
}

// whatIf evaluates one policy and names the conditions that kept it from
// applying (Graph's whatIfAnalysisReasons flags), "notSet" when it applies.
func whatIf(p *Policy, in *caInput, clientAppType string) (bool, string) {
	if p.State == "disabled" {
		return false, "policyNotEnabled"
	}
	c := forClientAppType(p.compiled, clientAppType)
	if c.appliesTo(in) {
		return true, "notSet"
	}
	// Each condition alone, with every other one neutral, tells which of
	// them failed. The evaluator itself decides; nothing is re-implemented.
	base := compiledPolicy{state: c.state, includeUsers: set{"all": true}, includeApps: set{"all": true}}
	checks := []struct {
		reason string
		only   func(n *compiledPolicy)
	}{
		{"users", func(n *compiledPolicy) {
			n.includeUsers, n.excludeUsers, n.includeGroups, n.excludeGroups = c.includeUsers, c.excludeUsers, c.includeGroups, c.excludeGroups
			n.includeRoles, n.excludeRoles, n.includeGuests, n.excludeGuests = c.includeRoles, c.excludeRoles, c.includeGuests, c.excludeGuests
		}},
		{"application", func(n *compiledPolicy) { n.includeApps, n.excludeApps = c.includeApps, c.excludeApps }},
		{"userActions", func(n *compiledPolicy) { n.userActions = c.userActions }},
		{"clientApps", func(n *compiledPolicy) { n.clientAppTypes = c.clientAppTypes }},
		{"devicePlatform", func(n *compiledPolicy) {
			n.hasPlatforms, n.includePlatforms, n.excludePlatforms = c.hasPlatforms, c.includePlatforms, c.excludePlatforms
		}},
		{"location", func(n *compiledPolicy) {
			n.hasLocations, n.includeLocations, n.excludeLocations = c.hasLocations, c.includeLocations, c.excludeLocations
		}},
		{"authenticationFlow", func(n *compiledPolicy) { n.transferMethods = c.transferMethods }},
		{"signInRisk", func(n *compiledPolicy) { n.riskLevels = c.riskLevels }},
		{"devices", func(n *compiledPolicy) { n.hasDeviceFilter, n.deviceFilterMode = c.hasDeviceFilter, c.deviceFilterMode }},
	}
	var reasons []string
	for _, chk := range checks {
		n := base
		chk.only(&n)
		if !n.appliesTo(in) {
			reasons = append(reasons, chk.reason)
		}
	}
	if len(reasons) == 0 {
		return false, "notEnoughInformation"
	}
	return false, strings.Join(reasons, ",")
}

// forClientAppType returns the policy as seen by a client of the given
// type. The evaluator assumes the MSAL desktop client the token endpoint
// serves, so for another type the clientAppTypes condition is decided here
// and handed over as "matches" (empty) or "cannot match".
func forClientAppType(c *compiledPolicy, clientAppType string) *compiledPolicy {
	if clientAppType == ClientAppTypeDesktop || len(c.clientAppTypes) == 0 {
		return c
	}
	cp := *c
	if c.clientAppTypes["all"] || c.clientAppTypes[clientAppType] {
		cp.clientAppTypes = nil
	} else {
		cp.clientAppTypes = set{"none": true}
	}
	return &cp
}

// withWhatIfFields returns the policy JSON with policyApplies and
// analysisReasons added, the whatIfAnalysisResult shape.
func withWhatIfFields(raw json.RawMessage, applies bool, reasons string) json.RawMessage {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) < 2 || trimmed[len(trimmed)-1] != '}' {
		return raw
	}
	extra, _ := json.Marshal(map[string]any{"policyApplies": applies, "analysisReasons": reasons})
	out := append([]byte(nil), trimmed[:len(trimmed)-1]...)
	if len(bytes.TrimSpace(out)) > 1 {
		out = append(out, ',')
	}
	out = append(out, extra[1:]...)
	return out
}
