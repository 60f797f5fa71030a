package policy

import (
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// sifByGroup is a 4-day sign-in frequency policy scoped to a group the
// service account belongs to (as the simulator's tenant 31 has it).
const sifByGroup = `{"value":[{"id":"sif-4d","displayName":"Sign-in frequency 4 days","state":"enabled",
 "conditions":{"users":{"includeGroups":["` + allStaffID + `"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},
 "sessionControls":{"signInFrequency":{"isEnabled":true,"value":4,"type":"days","authenticationType":"primaryAndSecondaryAuthentication","frequencyInterval":"timeBased"}}}]}`

// TestPredictionWithUnreadFacts: a policy pass whose Graph reads partly
// failed (as after a clock set back, when the cached access token was
// issued on the other side of the jump) must not move a prediction by
// months. Before the fix, an unread password policy fell back to the
// 90-day default, so a never-expiring password "expired" on
// 2026-03-24, and that invented date became the predicted break once the
// unread group membership hid the sign-in frequency policy.
func TestPredictionWithUnreadFacts(t *testing.T) {
	pols := LoadBytes("sif", []byte(sifByGroup))
	if len(pols.Skipped) > 0 || len(pols.Policies) != 1 {
		t.Fatalf("fixture: %+v", pols.Skipped)
	}
	enrolled := ts("2026-01-05T09:00:00Z")
	changed := ts("2025-12-24T09:00:00Z") // + 90 days = 2026-03-24
	cases := []struct {
		name          string
		groups        []string // nil: the membership read failed
		validity      int
		unknown       bool // the password policy read failed
		wantPredicted string
		wantCause     string
		wantPassword  bool // a password_expiry clock is computed
	}{
		{"all read, password never expires", []string{allStaffID}, neverExpiresDays, false, "2026-01-09T09:00:00Z", findingCauseSIF, false},
		{"all read, 90-day passwords", []string{allStaffID}, 90, false, "2026-01-09T09:00:00Z", findingCauseSIF, true},
		{"password policy unread", []string{allStaffID}, 0, true, "2026-01-09T09:00:00Z", findingCauseSIF, false},
		{"membership unread, password policy read", nil, neverExpiresDays, false, "", "", false},
		// The reported case: both unread. No date is better than one
		// invented from defaults.
		{"membership and password policy unread", nil, 0, true, "", "", false},
		{"membership unread, 90-day passwords read", nil, 90, false, "2026-03-24T09:00:00Z", findingCausePasswordExpired, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			subj := Subject{UserID: svcUserID, UPN: svcUPN, GroupIDs: c.groups, RoleTemplateIDs: []string{}, ClientAppID: platformApp,
				AuthFlow: FlowDeviceCode}
			f := Predict(PredictInput{
				TenantID: "t", TenantName: "T",
				Clocks: Clocks{InteractiveSignIn: enrolled, InteractiveSignInSource: "enrollment", LastRedemption: enrolled.Add(3 * time.Hour),
					ClientType: "public", AuthFlow: FlowDeviceCode},
				Account: Account{UPN: svcUPN, ID: svcUserID, AccountEnabled: true, LastPasswordChange: changed,
					PasswordValidityDays: c.validity, PasswordValidityUnknown: c.unknown, PerUserMFA: "disabled"},
				CanaryKeptAlive: true,
				Evaluations:     Evaluate(pols.Policies, nil, subj),
				Now:             enrolled.Add(time.Hour),
			})
			var predicted, cause string
			for _, fd := range f.Findings {
				if fd.Kind == health.KindPredictedBreak {
					if predicted != "" {
						t.Fatalf("two predicted_break findings: %+v", f.Findings)
					}
					predicted, cause = fd.PredictedAt.UTC().Format(time.RFC3339), fd.Cause
				}
			}
			if predicted != c.wantPredicted || cause != c.wantCause {
				t.Errorf("predicted break %q (%s), want %q (%s)", predicted, cause, c.wantPredicted, c.wantCause)
			}
			hasPassword := false
			for _, ck := range f.Clocks {
				hasPassword = hasPassword || ck.Clock == ClockPasswordExpiry
			}
			if hasPassword != c.wantPassword {
				t.Errorf("password_expiry clock computed: %v, want %v (clocks %+v)", hasPassword, c.wantPassword, clocksOf(f))
			}
		})
	}
}
