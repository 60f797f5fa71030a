package notify

import (
	"testing"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func TestInhibitedByIdentityProviderOutage(t *testing.T) {
	// As probe.IdPStatus.Finding builds it: the outage's cause is transient.
	idp := health.Finding{TenantID: AgentTenantID, Kind: health.KindIdPUnreachable, Severity: health.SeverityCritical, Cause: CauseTransient}
	for _, tc := range []struct {
		name string
		f    health.Finding
		down bool
		want bool
	}{
		{"the outage alert itself", idp, true, false},
		{"a tenant unreachable during the outage", health.Finding{Kind: health.KindTenantUnreachable}, true, true},
		{"a transient graph problem during the outage", health.Finding{Kind: health.KindGraphAccess, Cause: CauseTransient}, true, true},
		{"a definitive failure during the outage", health.Finding{Kind: health.KindTokenFailing, Cause: "password_changed"}, true, false},
		{"a tenant unreachable with the provider up", health.Finding{Kind: health.KindTenantUnreachable}, false, false},
	} {
		if got := inhibitedBy(tc.f, tc.down, failingToken{}); got != tc.want {
			t.Errorf("%s: inhibited = %v, want %v", tc.name, got, tc.want)
		}
	}
}
