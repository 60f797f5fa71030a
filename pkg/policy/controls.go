package policy

import (
	"fmt"
	"strings"
)

// Impact is what a policy does to the delegated refresh token.
type Impact string

const (
	ImpactBreaksNow            Impact = "breaks_now"
	ImpactBreaksAfter          Impact = "breaks_after"
	ImpactBreaksEveryRefresh   Impact = "breaks_every_refresh"
	ImpactReportOnlyWouldBreak Impact = "report_only_would_break"
	ImpactNone                 Impact = "none"
	ImpactUnknown              Impact = "unknown"
)

// Breaking reports whether the impact ends the token (now or later).
func (i Impact) Breaking() bool {
	return i == ImpactBreaksNow || i == ImpactBreaksAfter || i == ImpactBreaksEveryRefresh
}

// rank orders impacts for sorting: most urgent first.
func (i Impact) rank() int {
	switch i {
	case ImpactBreaksNow:
		return 6
	case ImpactBreaksEveryRefresh:
		return 5
	case ImpactBreaksAfter:
		return 4
	case ImpactReportOnlyWouldBreak:
		return 3
	case ImpactUnknown:
		return 2
	case ImpactNone:
		return 1
	}
	return 0
}

// Cause names the control responsible for a break; attribution maps AADSTS
// codes to causes.
type Cause string

const (
	CauseBlock               Cause = "block"
	CauseMFA                 Cause = "mfa"
	CauseAuthStrength        Cause = "authentication_strength"
	CauseCompliantDevice     Cause = "compliant_device"
	CauseDomainJoinedDevice  Cause = "domain_joined_device"
	CauseApprovedApplication Cause = "approved_application"
	CauseCompliantApp        Cause = "compliant_application"
	CausePasswordChange      Cause = "password_change"
	CauseSignInFrequency     Cause = "sign_in_frequency"
	CauseSIFEveryTime        Cause = "sign_in_frequency_every_time"
)

type ctlState int

const (
	ctlSatisfied ctlState = iota
	ctlUnsatisfiable
	ctlUnknown
)

// grantCheck is one grant control judged against a refresh from a server.
type grantCheck struct {
	state ctlState
	cause Cause
	text  string
}

// builtInGrant judges one builtInControls value.
func builtInGrant(c string, hasMFA bool) grantCheck {
	switch strings.ToLower(c) {
	case "block":
		return grantCheck{ctlUnsatisfiable, CauseBlock, "block access"}
	case "mfa":
		if hasMFA {
			return grantCheck{ctlSatisfied, CauseMFA, "require MFA (satisfied: the token carries the MFA claim)"}
		}
		return grantCheck{ctlUnsatisfiable, CauseMFA, "require MFA (the token has no MFA claim and a refresh cannot perform MFA)"}
	case "compliantdevice":
		return grantCheck{ctlUnsatisfiable, CauseCompliantDevice, "require compliant device (the platform server is not an Intune-compliant device)"}
	case "domainjoineddevice":
		return grantCheck{ctlUnsatisfiable, CauseDomainJoinedDevice, "require hybrid joined device (the platform server is not joined)"}
	case "approvedapplication":
		return grantCheck{ctlUnsatisfiable, CauseApprovedApplication, "require approved client app (iOS/Android broker apps only)"}
	case "compliantapplication":
		return grantCheck{ctlUnsatisfiable, CauseCompliantApp, "require app protection policy (not available to a server daemon)"}
	case "passwordchange":
		return grantCheck{ctlUnsatisfiable, CausePasswordChange, "require password change (interactive only)"}
	}
	return grantCheck{ctlUnknown, "", "grant control " + c + " is unknown"}
}

// builtInMFAStrengthID is Microsoft's built-in "Multifactor authentication"
// authentication strength; any MFA method satisfies it.
const builtInMFAStrengthID = "00000000-0000-0000-0000-000000000002"

// strengthGrant treats an authentication strength as MFA-requiring unless
// its only allowed combination is the password.
func strengthGrant(a *AuthenticationStrength, hasMFA bool) grantCheck {
	name := a.DisplayName
	if name == "" {
		name = a.ID
	}
	passwordOnly := len(a.AllowedCombinations) > 0
	for _, c := range a.AllowedCombinations {
		if !strings.EqualFold(c, "password") {
			passwordOnly = false
		}
	}
	switch {
	case passwordOnly || strings.EqualFold(a.RequirementsSatisfied, "none"):
		return grantCheck{ctlSatisfied, CauseAuthStrength, "authentication strength '" + name + "' (password only, satisfied)"}
	case !hasMFA:
		return grantCheck{ctlUnsatisfiable, CauseAuthStrength, "authentication strength '" + name + "' (requires MFA; the token has no MFA claim)"}
	case strings.EqualFold(a.ID, builtInMFAStrengthID):
		return grantCheck{ctlSatisfied, CauseAuthStrength, "authentication strength '" + name + "' (satisfied by the token's MFA claim)"}
	}
	return grantCheck{ctlUnknown, CauseAuthStrength, "authentication strength '" + name + "': whether the MFA method used at enrollment is allowed is not known"}
}

// grantOutcome combines grant controls with the policy's operator.
type grantOutcome struct {
	state  ctlState
	causes []Cause
	texts  []string
}

func evaluateGrant(g *GrantControls, hasMFA bool) grantOutcome {
	var checks []grantCheck
	if g == nil {
		return grantOutcome{state: ctlSatisfied}
	}
	for _, c := range g.BuiltInControls {
		if strings.EqualFold(c, "block") {
			// Block cannot be satisfied by any alternative.
			return grantOutcome{ctlUnsatisfiable, []Cause{CauseBlock}, []string{"block access"}}
		}
		checks = append(checks, builtInGrant(c, hasMFA))
	}
	if g.AuthenticationStrength != nil {
		checks = append(checks, strengthGrant(g.AuthenticationStrength, hasMFA))
	}
	for _, c := range g.CustomAuthenticationFactors {
		checks = append(checks, grantCheck{ctlUnknown, "", "custom control " + c + " (external, not evaluable)"})
	}
	for _, t := range g.TermsOfUse {
		checks = append(checks, grantCheck{ctlUnknown, "", "terms of use " + t + " (satisfied if accepted at enrollment and not set to expire)"})
	}
	out := grantOutcome{state: ctlSatisfied}
	if len(checks) == 0 {
		return out
	}
	op := strings.ToUpper(strings.TrimSpace(g.Operator))
	if op == "" {
		op = "AND"
	}
	var sat, unsat, unk int
	for _, c := range checks {
		out.texts = append(out.texts, c.text)
		switch c.state {
		case ctlSatisfied:
			sat++
		case ctlUnsatisfiable:
			unsat++
			out.causes = append(out.causes, c.cause)
		default:
			unk++
		}
	}
	switch {
	case op != "AND" && op != "OR":
		out.state = ctlUnknown
		out.texts = append(out.texts, "grant operator "+g.Operator+" is unknown")
	case op == "AND" && unsat > 0, op == "OR" && sat == 0 && unk == 0:
		out.state = ctlUnsatisfiable
	case op == "OR" && sat > 0:
		out.state, out.causes = ctlSatisfied, nil
	case unk > 0:
		out.state = ctlUnknown
	}
	if len(checks) > 1 {
		out.texts = append([]string{"grant operator " + op}, out.texts...)
	}
	return out
}

// sifOutcome is the sign-in frequency session control, judged once.
type sifOutcome struct {
	enabled   bool
	everyTime bool
	seconds   int64
	secondary bool // authenticationType secondaryAuthentication
	text      string
	unknown   bool
}

func evaluateSIF(f *SignInFrequency) sifOutcome {
	if f == nil || !f.IsEnabled {
		return sifOutcome{}
	}
	o := sifOutcome{enabled: true, secondary: strings.EqualFold(f.AuthenticationType, "secondaryAuthentication")}
	switch strings.ToLower(f.FrequencyInterval) {
	case "everytime":
		o.everyTime, o.text = true, "sign-in frequency every time"
		return o
	case "", "timebased":
	default:
		o.unknown, o.text = true, "sign-in frequency interval "+f.FrequencyInterval+" is unknown"
		return o
	}
	var unit int64
	switch strings.ToLower(f.Type) {
	case "hours":
		unit = 3600
	case "days":
		unit = 86400
	default:
		o.unknown, o.text = true, "sign-in frequency unit "+f.Type+" is unknown"
		return o
	}
	if f.Value == nil || *f.Value <= 0 || *f.Value > 365*24 {
		o.unknown, o.text = true, "sign-in frequency value is missing or out of range"
		return o
	}
	o.seconds = *f.Value * unit
	o.text = fmt.Sprintf("sign-in frequency %d %s (%d s)", *f.Value, strings.ToLower(f.Type), o.seconds)
	return o
}
