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
//
// A tenant whose token is already failing likewise mutes the predictions
// about it (the break has come) and the "policy breaks the token" alerts of
// the policies its failure is attributed to: the token_failing alert says
// it all. Muted alerts are not resolved, so no false "resolved" appears.
func inhibitedBy(f health.Finding, idpDown bool, failing failingToken) bool {
	// The outage alert itself carries the transient cause too; it is the
	// one alert that must get through.
	if idpDown && f.Kind != health.KindIdPUnreachable && (f.Kind == health.KindTenantUnreachable || f.Cause == CauseTransient) {
		return true
	}
	if !failing.any {
		return false
	}
	switch f.Kind {
	case health.KindPredictedBreak:
		return true
	case health.KindPolicyBreaksNow:
		return len(f.Policies) > 0 && failing.policies[f.Policies[0].ID]
	}
	return false
}

// failingToken says whether a tenant's token is failing and which policies
// the failure is attributed to.
type failingToken struct {
	any      bool
	policies map[string]bool
}

func failingTokenOf(fs []health.Finding) failingToken {
	var ft failingToken
	for _, f := range fs {
		if f.Kind != health.KindTokenFailing {
			continue
		}
		ft.any = true
		for _, p := range f.Policies {
			if ft.policies == nil {
				ft.policies = map[string]bool{}
			}
			ft.policies[p.ID] = true
		}
	}
	return ft
}
