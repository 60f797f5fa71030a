package policy

import (
	"fmt"
	"strings"
	"time"
)

// accountClocks are the clocks that do not come from a policy: remember-MFA,
// password expiry, refresh-token inactivity, per-user MFA and a disabled
// account.
func accountClocks(in PredictInput, s *Subject) []ClockPrediction {
	var out []ClockPrediction
	acct := accountLabel(s)
	c, a := in.Clocks, in.Account

	if a.ID != "" && !a.AccountEnabled {
		out = append(out, ClockPrediction{Clock: ClockAccountDisabled, At: in.Now, Effect: EffectBreaksToken, Session: "canary",
			Cause:       findingCauseDisabled,
			Evidence:    []string{"the account " + acct + " is disabled (accountEnabled false): every refresh fails with AADSTS50057"},
			Remediation: []string{"Enable the account " + acct + ", then re-enroll the token if it was revoked"}})
	}

	perUser := strings.ToLower(a.PerUserMFA)
	if (perUser == "enabled" || perUser == "enforced") && !c.TokenHasMFA {
		out = append(out, ClockPrediction{Clock: ClockPerUserMFA, At: in.Now, Effect: EffectBreaksToken, Session: "canary",
			Cause:    findingCausePerUserMFA,
			Evidence: []string{"per-user MFA is " + perUser + " for " + acct + " and the token has no MFA claim: the next refresh fails with AADSTS50076/50079"},
			Remediation: []string{"Disable per-user MFA for " + acct + " and cover MFA by Conditional Access with an exclusion for the service account, or re-enroll with MFA",
				RemediationReenroll}})
	}

	mfaInvolved := c.TokenHasMFA || perUser == "enabled" || perUser == "enforced"
	if mfaInvolved && in.RememberMFADays > 0 && !c.InteractiveSignIn.IsZero() {
		d := time.Duration(in.RememberMFADays) * 24 * time.Hour
		at := c.InteractiveSignIn.Add(d)
		r := []string{}
		if in.RememberMFADays < 365 {
			r = append(r, RemediationRememberMFA)
		}
		r = append(r, "Plan an interactive re-enrollment with MFA before "+stamp(at))
		out = append(out, ClockPrediction{Clock: ClockRememberMFA, At: at, Effect: EffectBreaksToken, Session: "canary",
			Cause: findingCauseRememberMFA,
			Evidence: []string{
				fmt.Sprintf("interactive sign-in at %s + remember-MFA %d days (stated by the operator; Graph cannot read it) = %s", stamp(c.InteractiveSignIn), in.RememberMFADays, stamp(at)),
				"MFA is part of this session (" + mfaWhy(c.TokenHasMFA, perUser) + "); partner reports tie AADSTS50078 (presented MFA has expired) to this setting",
			},
			Remediation: r})
	}

	if at, ok := passwordExpiry(a); ok {
		out = append(out, ClockPrediction{Clock: ClockPasswordExpiry, At: at, Effect: EffectBlocksReauthentication, Session: "canary",
			Cause: findingCausePasswordExpired,
			Evidence: []string{
				fmt.Sprintf("password last changed %s + validity %d days = %s", stamp(a.LastPasswordChange), validityDays(a), stamp(at)),
				"expiry revokes no token: refreshes keep working, but the next interactive sign-in (needed when another clock runs out) fails with AADSTS50055 until the password is changed, and a change revokes the refresh token (AADSTS50173)",
			},
			Remediation: passwordRemediation(a, s, at)})
	}

	if !c.LastRedemption.IsZero() {
		at := c.LastRedemption.Add(refreshTokenInactivity)
		out = append(out, ClockPrediction{Clock: ClockInactivity, At: at, Effect: EffectBreaksToken, Session: "canary",
			Cause: findingCauseInactive,
			Evidence: []string{
				fmt.Sprintf("last redemption at %s + 90 days of inactivity = %s", stamp(c.LastRedemption), stamp(at)),
				"every redemption returns a new refresh token and restarts this window (AADSTS700082 when it lapses)",
			},
			Remediation: []string{"Redeem the refresh token at least once every 90 days (the agent's canary schedule does this for its own token; check that the platform's sync runs)"}})
	}
	return out
}

func mfaWhy(tokenHasMFA bool, perUser string) string {
	switch {
	case tokenHasMFA && (perUser == "enabled" || perUser == "enforced"):
		return "the token carries the MFA claim and per-user MFA is " + perUser
	case tokenHasMFA:
		return "the token carries the MFA claim"
	}
	return "per-user MFA is " + perUser
}

func validityDays(a Account) int {
	if a.PasswordValidityDays == 0 {
		return defaultPasswordValidityDays
	}
	return a.PasswordValidityDays
}

// passwordExpiry is last change + validity, unless the password never
// expires or the last change or the validity is not known.
func passwordExpiry(a Account) (time.Time, bool) {
	d := validityDays(a)
	if a.LastPasswordChange.IsZero() || a.PasswordValidityUnknown || d >= neverExpiresDays || d < 0 {
		return time.Time{}, false
	}
	return a.LastPasswordChange.Add(time.Duration(d) * 24 * time.Hour), true
}

func passwordRemediation(a Account, s *Subject, at time.Time) []string {
	acct := accountLabel(s)
	stop := "Stop password expiry for " + acct + ": PATCH https://graph.microsoft.com/v1.0/users/"
	if a.ID != "" {
		stop += a.ID
	} else {
		stop += acct
	}
	stop += ` {"passwordPolicies":"DisablePasswordExpiration"} (Update-MgUser -PasswordPolicies DisablePasswordExpiration)`
	return []string{stop,
		"Or plan the password change and a re-enrollment of the token before " + stamp(at) + " (the change revokes the current refresh token)"}
}
