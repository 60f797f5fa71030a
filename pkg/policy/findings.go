package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// Severity thresholds for a predicted break: within a day is critical
// (someone must act today), within a week a warning, later informational.
const (
	criticalWithin = 24 * time.Hour
	warningWithin  = 7 * 24 * time.Hour
)

func predictionSeverity(at, now time.Time) health.Severity {
	switch d := at.Sub(now); {
	case d <= criticalWithin:
		return health.SeverityCritical
	case d <= warningWithin:
		return health.SeverityWarning
	}
	return health.SeverityInfo
}

func findings(in PredictInput, clocks []ClockPrediction) []health.Finding {
	var out []health.Finding
	base := health.Finding{TenantID: in.TenantID, TenantName: in.TenantName, DetectedAt: in.Now}

	// One finding per enabled policy that breaks the token at its next refresh.
	for _, c := range clocks {
		if c.Clock != ClockPolicyBreaksNow && c.Clock != ClockSIFEveryTime {
			continue
		}
		f := base
		f.Kind, f.Severity, f.Cause = health.KindPolicyBreaksNow, health.SeverityCritical, c.Cause
		f.Policies = []health.PolicyRef{*c.Policy}
		f.Summary = fmt.Sprintf("Policy '%s' breaks the delegated token at its next refresh", sanitizeLine(c.Policy.DisplayName))
		if c.Clock == ClockSIFEveryTime {
			f.Summary = fmt.Sprintf("Policy '%s' requires reauthentication on every refresh", sanitizeLine(c.Policy.DisplayName))
		}
		f.Evidence, f.Remediation = c.Evidence, c.Remediation
		out = append(out, f)
	}

	// The earliest time-based break, with every clock behind it.
	var earliest *ClockPrediction
	for i := range clocks {
		c := &clocks[i]
		if c.Clock == ClockInactivity && in.CanaryKeptAlive {
			continue
		}
		if c.Effect == EffectBreaksToken && c.Clock != ClockPolicyBreaksNow && c.Clock != ClockSIFEveryTime {
			earliest = c
			break
		}
	}
	if earliest != nil {
		f := base
		f.Kind, f.Cause, f.PredictedAt = health.KindPredictedBreak, earliest.Cause, earliest.At
		f.Severity = predictionSeverity(earliest.At, in.Now)
		if earliest.Policy != nil {
			f.Policies = []health.PolicyRef{*earliest.Policy}
		}
		f.Summary = predictionSummary(earliest, in.Now)
		f.Evidence = append(append([]string(nil), earliest.Evidence...), clockOverview(in, clocks)...)
		f.Remediation = append([]string(nil), earliest.Remediation...)
		for _, c := range clocks {
			if c.Clock == ClockPasswordExpiry && !c.At.After(earliest.At) {
				f.Evidence = append(f.Evidence, "the password expires before this break ("+stamp(c.At)+"), so the re-authentication it requires will fail with AADSTS50055")
				f.Remediation = append(f.Remediation, c.Remediation...)
			}
		}
		out = append(out, f)
	}

	// With no break predicted, a password expiry stands on its own (else
	// the break's finding carries it): the token keeps working, but the
	// re-authentication any later fix needs will fail.
	if earliest == nil {
		for _, c := range clocks {
			if c.Clock != ClockPasswordExpiry {
				continue
			}
			f := base
			f.Kind, f.Cause, f.PredictedAt = health.KindPredictedBreak, c.Cause, c.At
			f.Severity = predictionSeverity(c.At, in.Now)
			f.Summary = fmt.Sprintf("The password of %s expires at %s: the token keeps refreshing, but re-enrollment or any re-authentication then fails (AADSTS50055)",
				sanitizeLine(in.Account.UPN), stamp(c.At))
			f.Evidence = append([]string(nil), c.Evidence...)
			f.Remediation = append([]string(nil), c.Remediation...)
			out = append(out, f)
		}
	}

	// Report-only policies that would break the token once enabled.
	for i := range in.Evaluations {
		ev := &in.Evaluations[i]
		if ev.Impact != ImpactReportOnlyWouldBreak {
			continue
		}
		f := base
		f.Kind, f.Severity, f.Cause = health.KindReportOnlyRisk, health.SeverityWarning, causeLabel(ev.Causes)
		f.Policies = []health.PolicyRef{ev.Policy}
		f.Summary = fmt.Sprintf("Report-only policy '%s' would break the delegated token once enabled (%s)", sanitizeLine(ev.Policy.DisplayName), ev.ImpactIfApplies)
		f.Evidence = append([]string{"controls: " + strings.Join(ev.Controls, "; ")}, ev.Reasons...)
		if ev.ImpactIfApplies == ImpactBreaksAfter && !in.Clocks.InteractiveSignIn.IsZero() {
			at := in.Clocks.InteractiveSignIn.Add(time.Duration(ev.SignInFrequencySeconds) * time.Second)
			f.Evidence = append(f.Evidence, "if enabled, the canary's sign-in frequency would expire at "+stamp(at))
		}
		f.Remediation = ev.Remediation
		out = append(out, f)
	}
	return sanitizeFindings(out)
}

// sanitizeFindings cleans every tenant-influenced string once, at the
// producer, so no alert channel can be handed an escape sequence.
func sanitizeFindings(fs []health.Finding) []health.Finding {
	for i := range fs {
		fs[i].Summary = Sanitize(fs[i].Summary)
		fs[i].Evidence = sanitizeAll(fs[i].Evidence)
		fs[i].Remediation = sanitizeAll(fs[i].Remediation)
		for j := range fs[i].Policies {
			fs[i].Policies[j].DisplayName = Sanitize(fs[i].Policies[j].DisplayName)
		}
	}
	return fs
}

// sanitizeAll returns a cleaned copy (inputs may be shared, read-only slices).
func sanitizeAll(lines []string) []string {
	if lines == nil {
		return nil
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = Sanitize(l)
	}
	return out
}

func predictionSummary(c *ClockPrediction, now time.Time) string {
	when := "at " + stamp(c.At) + " (in " + humanDuration(c.At.Sub(now)) + ")"
	if !c.At.After(now) {
		when = "since " + stamp(c.At)
	}
	who := "the agent's canary token"
	if c.Session == "platform" {
		who = "the platform's token"
	}
	switch c.Clock {
	case ClockSignInFrequency, ClockPlatformSignInFrequency:
		return fmt.Sprintf("Sign-in frequency of policy '%s' breaks %s %s", sanitizeLine(c.Policy.DisplayName), who, when)
	case ClockRememberMFA:
		return "Remember-MFA period ends for " + who + " " + when
	case ClockInactivity:
		return "Refresh token inactivity (90 days) ends " + when
	case ClockPerUserMFA:
		return "Per-user MFA breaks the token at its next refresh"
	case ClockAccountDisabled:
		return "The service account is disabled"
	}
	return string(c.Clock) + " breaks " + who + " " + when
}

// clockOverview lists every clock, and what could not be predicted.
func clockOverview(in PredictInput, clocks []ClockPrediction) []string {
	var out []string
	for _, c := range clocks {
		line := fmt.Sprintf("clock %s (%s) at %s: %s", c.Clock, c.Session, stamp(c.At), c.Effect)
		if c.Policy != nil {
			line += ", policy '" + sanitizeLine(c.Policy.DisplayName) + "'"
		}
		out = append(out, line)
	}
	perUser := strings.ToLower(in.Account.PerUserMFA)
	if in.RememberMFADays == 0 && (in.Clocks.TokenHasMFA || perUser == "enabled" || perUser == "enforced") {
		out = append(out, "remember-MFA days not stated in the configuration: its expiry cannot be predicted")
	}
	if in.Account.LastPasswordChange.IsZero() {
		out = append(out, "password last change not known: password expiry cannot be predicted")
	}
	for i := range in.Evaluations {
		ev := &in.Evaluations[i]
		if ev.Impact == ImpactUnknown && ev.ImpactIfApplies.Breaking() {
			why := ""
			if len(ev.Reasons) > 0 {
				why = ": " + ev.Reasons[0]
			}
			out = append(out, fmt.Sprintf("policy '%s' may also break the token (%s if it applies)%s", sanitizeLine(ev.Policy.DisplayName), ev.ImpactIfApplies, why))
		}
	}
	return out
}
