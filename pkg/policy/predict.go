package policy

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// Clocks are the token facts the probe records per tenant. Two clocks are
// never mixed (domain.md section 2): sign-in frequency runs from the
// original interactive sign-in and no refresh resets it; inactivity runs
// from the last redemption and every refresh resets it.
type Clocks struct {
	InteractiveSignIn time.Time
	// InteractiveSignInSource says how InteractiveSignIn is known:
	// "auth_time" (id_token claim), "enrollment" (recorded by the agent),
	// "70043" (issue time carried by a sign-in frequency error).
	InteractiveSignInSource string
	LastRedemption          time.Time
	ClientType              string // public | confidential
	AuthFlow                string // deviceCode | authorizationCode | ""
	TokenHasMFA             bool
	// PlatformLastInteractive is the platform's own last interactive
	// sign-in, from the sign-in logs; zero when not known.
	PlatformLastInteractive time.Time
}

// Account is the service account as the directory shows it.
type Account struct {
	UPN string
	// ID is the object id. AccountEnabled is only trusted when ID is set,
	// i.e. when the account was actually read.
	ID                 string
	AccountEnabled     bool
	LastPasswordChange time.Time
	// PasswordValidityDays: 0 = default 90; 2147483647 (or more) = never.
	PasswordValidityDays int
	// PasswordValidityUnknown: the domain's password policy could not be
	// read (and never was). No expiry is computed then: the 90-day
	// default would invent a date for the many service accounts whose
	// password never expires.
	PasswordValidityUnknown bool
	PerUserMFA              string // disabled | enabled | enforced | ""
}

// PredictInput is everything a forecast needs; nothing is read from the
// network or the clock.
type PredictInput struct {
	TenantID, TenantName string
	Clocks               Clocks
	Account              Account
	// RememberMFADays is the operator-stated "remember MFA on trusted
	// devices" setting (Graph cannot read it); 0 = not stated.
	RememberMFADays int
	// CanaryKeptAlive: the agent redeems the canary on schedule and the
	// last redemption succeeded, so its inactivity clock restarts long
	// before it runs out. The clock is still listed, but not predicted.
	CanaryKeptAlive bool
	// Evaluations must come from a Subject with the same TokenHasMFA and
	// AuthFlow as Clocks (and the account's UPN and ID, for remediation).
	Evaluations []Evaluation
	Now         time.Time
}

// ClockName identifies one clock behind a prediction.
type ClockName string

const (
	ClockSignInFrequency         ClockName = "sign_in_frequency"
	ClockPlatformSignInFrequency ClockName = "platform_sign_in_frequency"
	ClockSIFEveryTime            ClockName = "sign_in_frequency_every_time"
	ClockPolicyBreaksNow         ClockName = "policy_breaks_now"
	ClockRememberMFA             ClockName = "remember_mfa"
	ClockPasswordExpiry          ClockName = "password_expiry"
	ClockInactivity              ClockName = "inactivity"
	ClockPerUserMFA              ClockName = "per_user_mfa"
	ClockAccountDisabled         ClockName = "account_disabled"
)

// Effects of a clock running out.
const (
	EffectBreaksToken = "breaks_token"
	// EffectBlocksReauthentication: nothing is revoked, but the next
	// interactive sign-in fails (password expiry: AADSTS50055).
	EffectBlocksReauthentication = "blocks_reauthentication"
)

// ClockPrediction is one clock: when it runs out and what then happens.
type ClockPrediction struct {
	Clock   ClockName         `json:"clock"`
	At      time.Time         `json:"at"`
	Effect  string            `json:"effect"`
	Session string            `json:"session"` // canary | platform
	Policy  *health.PolicyRef `json:"policy,omitempty"`
	Cause   string            `json:"cause"`
	// ClientType is recorded beside every sign-in frequency prediction:
	// confidential clients may see enforcement deferred.
	ClientType  string   `json:"clientType,omitempty"`
	Evidence    []string `json:"evidence"`
	Remediation []string `json:"remediation,omitempty"`
}

// Forecast is a tenant's clocks in time order and the findings they yield.
type Forecast struct {
	Clocks []ClockPrediction `json:"clocks"`
	// Earliest is the first clock that breaks a token (nil when none).
	Earliest *ClockPrediction `json:"earliest,omitempty"`
	Findings []health.Finding `json:"findings"`
}

// Defaults from Microsoft's documentation (domain.md sections 2-3).
const (
	refreshTokenInactivity      = 90 * 24 * time.Hour
	defaultPasswordValidityDays = 90
	neverExpiresDays            = 2147483647
	everyTimeSkew               = 5 * time.Minute
)

// Predict computes every clock and the findings: one predicted_break for
// the earliest time-based break, one policy_breaks_now per enabled policy
// that a refresh cannot satisfy, one report_only_risk per report-only
// policy that would break the token once enabled.
func Predict(in PredictInput) Forecast {
	subj := Subject{UPN: in.Account.UPN, UserID: in.Account.ID, AuthFlow: in.Clocks.AuthFlow, TokenHasMFA: in.Clocks.TokenHasMFA}
	var f Forecast
	f.Clocks = append(f.Clocks, policyClocks(in, &subj)...)
	f.Clocks = append(f.Clocks, accountClocks(in, &subj)...)
	sort.SliceStable(f.Clocks, func(i, j int) bool { return f.Clocks[i].At.Before(f.Clocks[j].At) })
	for i := range f.Clocks {
		if f.Clocks[i].Effect == EffectBreaksToken {
			f.Earliest = &f.Clocks[i]
			break
		}
	}
	f.Findings = findings(in, f.Clocks)
	return f
}

// policyClocks turns evaluations into clocks.
func policyClocks(in PredictInput, s *Subject) []ClockPrediction {
	var out []ClockPrediction
	var shortest *Evaluation
	for i := range in.Evaluations {
		ev := &in.Evaluations[i]
		switch ev.Impact {
		case ImpactBreaksAfter:
			if shortest == nil || ev.SignInFrequencySeconds < shortest.SignInFrequencySeconds {
				shortest = ev
			}
		case ImpactBreaksNow:
			ref := ev.Policy
			out = append(out, ClockPrediction{Clock: ClockPolicyBreaksNow, At: in.Now, Effect: EffectBreaksToken,
				Session: "canary", Policy: &ref, Cause: causeLabel(ev.Causes),
				Evidence:    append([]string{"policy '" + ev.Policy.DisplayName + "' applies with " + strings.Join(ev.Controls, "; ")}, ev.Reasons...),
				Remediation: ev.Remediation})
		case ImpactBreaksEveryRefresh:
			ref := ev.Policy
			at := in.Now
			if !in.Clocks.InteractiveSignIn.IsZero() {
				at = in.Clocks.InteractiveSignIn.Add(everyTimeSkew)
			}
			out = append(out, ClockPrediction{Clock: ClockSIFEveryTime, At: at, Effect: EffectBreaksToken,
				Session: "canary", Policy: &ref, Cause: findingCauseSIF,
				Evidence: append([]string{"policy '" + ev.Policy.DisplayName + "' requires reauthentication every time (5 minutes of clock skew allowed): the first refresh after " +
					stamp(at) + " fails"}, ev.Reasons...),
				Remediation: ev.Remediation})
		}
	}
	if shortest == nil {
		return out
	}
	ref := shortest.Policy
	limit := time.Duration(shortest.SignInFrequencySeconds) * time.Second
	common := []string{
		fmt.Sprintf("policy '%s' (%s) requires a new interactive sign-in every %s (%d s)", ref.DisplayName, ref.ID, humanDuration(limit), shortest.SignInFrequencySeconds),
		"token refreshes do not reset this clock; only an interactive sign-in does",
		clientTypeEvidence(in.Clocks.ClientType),
	}
	common = append(common, shortest.Reasons...)
	if in.Clocks.InteractiveSignIn.IsZero() {
		common = append(common, "the canary's interactive sign-in time is not known, so its break time cannot be computed")
	} else {
		at := in.Clocks.InteractiveSignIn.Add(limit)
		ev := append([]string{fmt.Sprintf("canary interactive sign-in at %s (source: %s) + %s = %s", stamp(in.Clocks.InteractiveSignIn), sourceLabel(in.Clocks.InteractiveSignInSource), humanDuration(limit), stamp(at))}, common...)
		out = append(out, ClockPrediction{Clock: ClockSignInFrequency, At: at, Effect: EffectBreaksToken, Session: "canary",
			ClientType: in.Clocks.ClientType, Policy: &ref, Cause: findingCauseSIF, Evidence: ev, Remediation: sifRemediation(shortest, at, in.Now)})
	}
	if !in.Clocks.PlatformLastInteractive.IsZero() {
		at := in.Clocks.PlatformLastInteractive.Add(limit)
		ev := append([]string{fmt.Sprintf("platform's last interactive sign-in at %s (sign-in logs) + %s = %s", stamp(in.Clocks.PlatformLastInteractive), humanDuration(limit), stamp(at))}, common...)
		out = append(out, ClockPrediction{Clock: ClockPlatformSignInFrequency, At: at, Effect: EffectBreaksToken, Session: "platform",
			ClientType: in.Clocks.ClientType, Policy: &ref, Cause: findingCauseSIF, Evidence: ev, Remediation: sifRemediation(shortest, at, in.Now)})
	}
	return out
}

func sifRemediation(ev *Evaluation, at, now time.Time) []string {
	r := append([]string(nil), ev.Remediation...)
	if !at.After(now) {
		r = append(r, RemediationReenroll)
	}
	return r
}

func clientTypeEvidence(ct string) string {
	switch strings.ToLower(ct) {
	case "confidential":
		return "client type: confidential. Microsoft documents that sign-in frequency on non-interactive sign-ins of confidential clients may be deferred to the next interactive sign-in, so the break may come later than predicted"
	case "public":
		return "client type: public. Sign-in frequency is enforced on the refresh itself (AADSTS70043)"
	}
	return "client type: not recorded; a confidential client may see sign-in frequency enforcement deferred"
}

func sourceLabel(s string) string {
	switch s {
	case "auth_time":
		return "auth_time claim of the id_token"
	case "enrollment":
		return "recorded by the agent at enrollment"
	case "70043":
		return "issue time carried by an AADSTS70043 error"
	case "":
		return "not recorded"
	}
	return s
}

// Finding causes use the probe's vocabulary (pkg/probe Cause values) where
// one matches, so a prediction and the failure that later confirms it carry
// the same cause. pkg/probe is not imported: it pulls in MSAL.
const (
	findingCauseSIF             = "ca_sign_in_frequency"
	findingCauseMFA             = "ca_mfa_required"
	findingCauseBlocked         = "ca_blocked"
	findingCauseDevice          = "ca_device_compliance"
	findingCausePasswordChange  = "ca_password_change"
	findingCauseRememberMFA     = "mfa_expired_remember"
	findingCausePasswordExpired = "password_expired"
	findingCauseInactive        = "refresh_token_inactive"
	findingCauseDisabled        = "account_disabled"
	findingCausePerUserMFA      = "per_user_mfa"
)

// causeLabel maps control causes to finding causes, deduplicated, in order.
func causeLabel(cs []Cause) string {
	var out []string
	for _, c := range cs {
		var l string
		switch c {
		case CauseSignInFrequency, CauseSIFEveryTime:
			l = findingCauseSIF
		case CauseMFA, CauseAuthStrength:
			l = findingCauseMFA
		case CauseBlock:
			l = findingCauseBlocked
		case CauseCompliantDevice, CauseDomainJoinedDevice, CauseApprovedApplication, CauseCompliantApp:
			l = findingCauseDevice
		case CausePasswordChange:
			l = findingCausePasswordChange
		default:
			l = "ca_" + string(c)
		}
		if !containsString(out, l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, ",")
}

// stamp formats a time for evidence text.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// humanDuration renders 604800s as "7d", 43200s as "12h", 90m as "1h30m".
func humanDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	hours := d / time.Hour
	d -= hours * time.Hour
	mins := d / time.Minute
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if hours > 0 {
		fmt.Fprintf(&b, "%dh", hours)
	}
	if mins > 0 || b.Len() == 0 || (b.Len() == 1 && neg) {
		fmt.Fprintf(&b, "%dm", mins)
	}
	return b.String()
}
