package probe

import (
	"testing"
	"time"
)

func TestClocksFrom(t *testing.T) {
	enrolledAt := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	authTime := enrolledAt.Add(-2 * time.Minute)
	issued70043 := enrolledAt.Add(-time.Hour)
	redeemed := enrolledAt.Add(48 * time.Hour)
	withAuthTime := Enrollment{EnrolledAt: enrolledAt, InteractiveSignIn: authTime, InteractiveSignInSource: SignInSourceAuthTime,
		Method: AuthFlowAuthCode, ClientType: ClientConfidential, TokenHasMFA: true}
	noAuthTime := Enrollment{EnrolledAt: enrolledAt, InteractiveSignIn: enrolledAt, InteractiveSignInSource: SignInSourceEnrollment,
		Method: AuthFlowDeviceCode, ClientType: ClientPublic}
	tests := []struct {
		name     string
		e        Enrollment
		enrolled bool
		ps       ProbeState
		want     Clocks
	}{
		{"auth_time wins", withAuthTime, true, ProbeState{LastRedemption: redeemed, SIFIssuedAt: issued70043},
			Clocks{InteractiveSignIn: authTime, InteractiveSignInSource: SignInSourceAuthTime, LastRedemption: redeemed,
				ClientType: ClientConfidential, AuthFlow: AuthFlowAuthCode, TokenHasMFA: true}},
		{"enrollment time without auth_time", noAuthTime, true, ProbeState{},
			Clocks{InteractiveSignIn: enrolledAt, InteractiveSignInSource: SignInSourceEnrollment, LastRedemption: enrolledAt,
				ClientType: ClientPublic, AuthFlow: AuthFlowDeviceCode}},
		{"70043 issue time without an enrollment record", Enrollment{}, false, ProbeState{SIFIssuedAt: issued70043},
			Clocks{InteractiveSignIn: issued70043, InteractiveSignInSource: SignInSource70043}},
		{"nothing known", Enrollment{}, false, ProbeState{}, Clocks{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clocksFrom(tt.e, tt.enrolled, tt.ps); got != tt.want {
				t.Errorf("clocks = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

func TestStateAfterRestart(t *testing.T) {
	for outcome, want := range map[string]State{"ok": StateHealthy, "definitive": StateFailing, "transient": StatePending, "": StatePending} {
		if got := StateAfterRestart(ProbeState{LastOutcome: outcome}); got != want {
			t.Errorf("after %q: %s, want %s", outcome, got, want)
		}
	}
}
