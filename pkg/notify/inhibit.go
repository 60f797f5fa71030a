package notify

import "github.com/tokenhealth/tokenhealth/pkg/health"

// CauseTransient is the probe cause of a failure that is not a verdict on
// the token (5xx, timeout, throttling): it is what an identity-provider
// outage produces in every tenant at once.
const CauseTransient = "transient"

// inhibitedBy reports whether f is muted because the identity provider is
// unreachable for most tenants: the per-tenant "unreachable" and
// transient-caused alerts are consequences of that one condition, and one
// alert about the cause beats forty about its effects.
func inhibitedBy(f health.Finding, idpDown bool) bool {
	if !idpDown {
		return false
	}
	return f.Kind == health.KindTenantUnreachable || f.Cause == CauseTransient
}
