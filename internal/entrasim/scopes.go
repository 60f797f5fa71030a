package entrasim

import (
	"slices"
	"strings"
)

// scopeResult is a resolved scope parameter.
type scopeResult struct {
	resourceID string // the resource's app id (Graph)
	scp        string // space-separated delegated permissions for the AT
	echo       string // the "scope" field of the response
	offline    bool   // offline_access requested: issue a refresh token
}

var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

// resolveScopes validates the requested scopes against the Graph resource
// and the app's consent in the tenant. The response echoes the requested
// resource scopes (MSAL rejects a response that omits any of them).
func resolveScopes(scope string, app *ClientApp, t *Tenant, errs stsErrors) (scopeResult, *aadError) {
	res := scopeResult{resourceID: GraphAppID}
	var perms, echo []string
	prefix := GraphResource + "/" // as the client named the resource
	for _, sc := range strings.Fields(scope) {
		lower := strings.ToLower(sc)
		if oidcScopes[lower] {
			res.offline = res.offline || lower == "offline_access"
			continue
		}
		name := sc
		if i := strings.LastIndex(sc, "/"); i >= 0 {
			resource := strings.ToLower(strings.TrimSuffix(sc[:i], "/"))
			if resource != GraphResource && resource != GraphAppID && resource != "https://graph.microsoft.com/v1.0" {
				return res, errs.invalidGrant(500011, "The resource principal named "+sc[:i]+" was not found in the tenant named "+t.DisplayName+". This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.")
			}
			name = sc[i+1:]
			prefix = sc[:i+1]
		}
		echo = append(echo, sc)
		perms = append(perms, name)
	}
	consented := map[string]string{}
	for _, c := range app.ConsentedScopes {
		consented[strings.ToLower(c)] = c
	}
	var granted []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[strings.ToLower(p)] {
			seen[strings.ToLower(p)] = true
			granted = append(granted, p)
		}
	}
	if len(perms) == 0 {
		perms = []string{".default"}
	}
	for _, p := range perms {
		if p == ".default" {
			if len(app.ConsentedScopes) == 0 {
				return res, errs.consent(app.AppID, app.DisplayName)
			}
			for _, c := range app.ConsentedScopes {
				add(c)
			}
			continue
		}
		c, ok := consented[strings.ToLower(p)]
		if !ok {
			return res, errs.consent(app.AppID, app.DisplayName)
		}
		add(c)
	}
	res.scp = strings.Join(granted, " ")
	// For ".default" Entra answers with the consented permissions it
	// expanded to, followed by the requested scope itself.
	if slices.Contains(perms, ".default") {
		expanded := make([]string, 0, len(granted)+len(echo))
		for _, g := range granted {
			expanded = append(expanded, prefix+g)
		}
		echo = append(expanded, echo...)
	}
	res.echo = strings.Join(echo, " ")
	return res, nil
}
