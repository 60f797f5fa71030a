package notify

import (
	"slices"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// AgentTenantID is the tenant ID of the agent's own findings (a receiver
// rejecting our credentials): they concern no customer tenant.
const AgentTenantID = "tokenhealth-agent"

// Route sends matching alerts to a receiver. Empty lists match everything.
type Route struct {
	Receiver   string
	Severities []health.Severity
	// Tags match a tenant that has any of them.
	Tags  []string
	Kinds []health.Kind
}

// TenantInfo is what routing needs to know about a tenant.
type TenantInfo struct {
	ID   string
	Name string
	Tags []string
}

// TenantLookup returns the configured tenant, or false when it is unknown
// (a tenant removed from the configuration while an alert was firing).
type TenantLookup func(id string) (TenantInfo, bool)

func (r Route) matches(sev health.Severity, kind health.Kind, tags []string, agent bool) bool {
	if len(r.Severities) > 0 && !slices.Contains(r.Severities, sev) {
		return false
	}
	if len(r.Kinds) > 0 && !slices.Contains(r.Kinds, kind) {
		return false
	}
	// The agent is not a tenant and has no tags: a tag filter selects
	// customers, not whether operators hear about the agent itself.
	if len(r.Tags) > 0 && !agent && !slices.ContainsFunc(r.Tags, func(t string) bool { return slices.Contains(tags, t) }) {
		return false
	}
	return true
}

// router evaluates routes in order; an alert goes to every matching
// route's receiver, once.
type router struct {
	routes []Route
	lookup TenantLookup
}

// receiversFor returns the receivers of an alert with severity sev. An
// agent-health alert about a receiver never goes to that receiver (it would
// fail the same way); when no route takes it, it goes to every other
// receiver, so a broken receiver is never reported only to itself.
func (r router) receiversFor(f health.Finding, sev health.Severity, all []string) []string {
	agent := f.TenantID == AgentTenantID
	var tags []string
	if !agent && r.lookup != nil {
		if ti, ok := r.lookup(f.TenantID); ok {
			tags = ti.Tags
		}
	}
	exclude := ""
	if f.Kind == health.KindAgentHealth {
		exclude = failingReceiver(f)
	}
	var out []string
	for _, rt := range r.routes {
		if rt.Receiver == exclude || slices.Contains(out, rt.Receiver) {
			continue
		}
		if rt.matches(sev, f.Kind, tags, agent) {
			out = append(out, rt.Receiver)
		}
	}
	if len(out) == 0 && exclude != "" {
		for _, name := range all {
			if name != exclude {
				out = append(out, name)
			}
		}
	}
	return out
}
