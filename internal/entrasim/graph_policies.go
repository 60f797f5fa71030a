package entrasim

import (
	"encoding/json"
	"strings"
)

// Conditional Access reads. Policies and named locations are returned as
// the raw Graph JSON the tenant holds (exactly as exported or PATCHed), so
// whatever a real export carries reaches the client.

var policyProperties = []string{
	"id", "displayName", "state", "createdDateTime", "modifiedDateTime", "templateId",
	"conditions", "grantControls", "sessionControls",
}

var namedLocationProperties = []string{
	"id", "displayName", "createdDateTime", "modifiedDateTime",
	"ipRanges", "isTrusted", "countriesAndRegions", "includeUnknownCountriesAndRegions", "countryLookupMethod",
}

// caRead runs the checks every CA read shares: permission, then the
// per-tenant CA request rate.
func (rc *graphRequest) caRead() bool {
	return rc.permitted("conditionalAccess", permPolicies) && rc.allow(bucketCA)
}

func (g *graphAPI) listPolicies(rc *graphRequest) {
	if !rc.caRead() {
		return
	}
	sel, ok := rc.selectFields("conditionalAccessPolicy", policyProperties)
	if !ok {
		return
	}
	p, ok := rc.pageParams(g.s.GraphLimits().PolicyPageSize)
	if !ok {
		return
	}
	var items []any
	rc.tenant.View(func(st *TenantState) {
		for _, pol := range st.Policies {
			items = append(items, projectRaw(pol.Raw, sel))
		}
	})
	rc.replyPage("identity/conditionalAccess/policies", items, p)
}

func (g *graphAPI) getPolicy(rc *graphRequest) {
	if !rc.caRead() {
		return
	}
	sel, ok := rc.selectFields("conditionalAccessPolicy", policyProperties)
	if !ok {
		return
	}
	id := rc.r.PathValue("id")
	var out any
	rc.tenant.View(func(st *TenantState) {
		if pol := st.PolicyByID(id); pol != nil {
			out = projectRaw(pol.Raw, sel)
		}
	})
	if out == nil {
		rc.notFound(id)
		return
	}
	rc.reply(out)
}

func (g *graphAPI) listNamedLocations(rc *graphRequest) {
	if !rc.caRead() {
		return
	}
	sel, ok := rc.selectFields("namedLocation", namedLocationProperties)
	if !ok {
		return
	}
	p, ok := rc.pageParams(g.s.GraphLimits().PolicyPageSize)
	if !ok {
		return
	}
	var items []any
	rc.tenant.View(func(st *TenantState) {
		for _, nl := range st.NamedLocations {
			items = append(items, projectRaw(nl.Raw, sel))
		}
	})
	rc.replyPage("identity/conditionalAccess/namedLocations", items, p)
}

func (g *graphAPI) getNamedLocation(rc *graphRequest) {
	if !rc.caRead() {
		return
	}
	id := rc.r.PathValue("id")
	var out json.RawMessage
	rc.tenant.View(func(st *TenantState) {
		for _, nl := range st.NamedLocations {
			if strings.EqualFold(nl.ID, id) {
				out = nl.Raw
			}
		}
	})
	if out == nil {
		rc.notFound(id)
		return
	}
	rc.reply(out)
}
