package entrasim

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDemoScenarioStory enrolls the real MSAL client in every demo tenant
// (production host names, mode B) and walks virtual time forward, checking
// that each tenant breaks when and how the scenario says.
func TestDemoScenarioStory(t *testing.T) {
	s := startSimAt(t, DemoScenario(), DefaultStart)
	ids := map[string]string{}
	canaries := map[string]*canary{}
	for _, tn := range s.Tenants() {
		name := strings.SplitN(tn.Domain, "-", 2)[0]
		ids[name] = tn.ID
		c := newCanaryApp(t, s, modeB, tn.ID, CanaryAppID)
		c.enroll(t)
		canaries[name] = c
	}
	expect := func(name string, code int, contains string) {
		t.Helper()
		_, err := canaries[name].refresh(context.Background())
		if code == 0 {
			if err != nil {
				t.Errorf("%s at %s: want success, got %v", name, s.Now().Format(time.RFC3339), err)
			}
			return
		}
		if err == nil {
			t.Errorf("%s at %s: refresh succeeded, want %d", name, s.Now().Format(time.RFC3339), code)
			return
		}
		_, b := callErrBody(t, err)
		if b.Codes[0] != code || !strings.Contains(b.Description, contains) {
			t.Errorf("%s: got %v %q, want %d containing %q", name, b.Codes, b.Description, code, contains)
		}
	}
	s.Advance(time.Minute)
	for _, n := range []string{"contoso", "fabrikam", "northwind", "tailspin", "woodgrove", "adatum"} {
		expect(n, 0, "")
	}
	// The report-only MFA policy would have failed fabrikam's refresh.
	rec := s.Tenant(ids["fabrikam"]).SignIns(nil)[0]
	if rec.AppliedConditionalAccessPolicies[1].Result != "reportOnlyFailure" || rec.ConditionalAccessStatus != "success" {
		t.Errorf("fabrikam sign-in: %+v", rec.AppliedConditionalAccessPolicies)
	}
	s.Advance(5 * time.Minute) // +6m: every-time SIF and the new MFA policy bite
	expect("northwind", 70043, "maximum allowed lifetime for this request is 300.")
	expect("tailspin", 50076, "you must use multi-factor authentication")
	expect("contoso", 0, "")
	s.Advance(36 * time.Hour) // +36h06m: adatum's new 48-hour policy, not yet due
	expect("adatum", 0, "")
	expect("fabrikam", 0, "")
	s.Advance(12 * time.Hour) // +2d00h06m: fabrikam's 7-day limit, counted from 5 days before start, and adatum's 48 hours
	expect("adatum", 70043, "maximum allowed lifetime for this request is 172800.")
	expect("fabrikam", 70043, "The token was issued on 2025-12-31T09:00:00.0000000Z and the maximum allowed lifetime for this request is 604800.")
	s.Advance(3 * 24 * time.Hour) // woodgrove's password (changed 86 days before start) has expired
	expect("woodgrove", 0, "")    // expiry revokes nothing
	fresh := newCanaryApp(t, s, modeB, ids["woodgrove"], CanaryAppID)
	dc, err := fresh.app.AcquireTokenByDeviceCode(context.Background(), []string{graphScope})
	if err != nil {
		t.Fatal(err)
	}
	_, err = dc.AuthenticationResult(context.Background())
	if err == nil {
		t.Fatal("sign-in with an expired password succeeded")
	}
	if _, b := callErrBody(t, err); b.Codes[0] != 50055 {
		t.Errorf("expired password sign-in: %v, want 50055", b.Codes)
	}
	expect("contoso", 0, "")
}
