package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// Evidence sources, strongest first.
const (
	EvidenceSignInLog       = "sign_in_log"
	EvidenceErrorValues     = "error_values"
	EvidenceLocalEvaluation = "local_evaluation"
	EvidenceNone            = "none"
)

// signInMatchWindow is how far a sign-in log entry's createdDateTime may be
// from the failed attempt when no correlation id links them.
const signInMatchWindow = 5 * time.Minute

// Failure is a failed refresh as the probe classified it.
type Failure struct {
	At            time.Time
	Codes         []int // AADSTS error codes, e.g. 70043
	CorrelationID string
	AppID         string // client app id of the attempt ("" = any)
	// MaxLifetimeSeconds and IssuedAt are the values an AADSTS70043
	// description carries ("issued on ... maximum allowed lifetime ... is N").
	MaxLifetimeSeconds int64
	IssuedAt           time.Time
}

// AttributedPolicy is one policy held responsible, and why.
type AttributedPolicy struct {
	Policy health.PolicyRef `json:"policy"`
	Why    string           `json:"why"`
}

// Attribution links a failure to policies and says which evidence did it.
type Attribution struct {
	EvidenceSource string             `json:"evidenceSource"`
	Policies       []AttributedPolicy `json:"policies,omitempty"`
	Evidence       []string           `json:"evidence,omitempty"`
	SignIn         *SignIn            `json:"-"`
}

// Attribute tries the sign-in log, then the values in the error, then the
// local evaluation, and stops at the first that names a policy.
func Attribute(f Failure, signIns []SignIn, evals []Evaluation) Attribution {
	var a Attribution
	if si := matchSignIn(f, signIns); si != nil {
		a.SignIn = si
		a.Evidence = append(a.Evidence, describeSignIn(si)...)
		a.Policies = policiesFromSignIn(f, si)
		if len(a.Policies) > 0 {
			a.EvidenceSource = EvidenceSignInLog
			return a
		}
	} else if len(signIns) > 0 {
		a.Evidence = append(a.Evidence, fmt.Sprintf("no sign-in log entry matches the attempt (correlation id %q, codes %v, within %s of %s)", f.CorrelationID, f.Codes, signInMatchWindow, stamp(f.At)))
	} else {
		a.Evidence = append(a.Evidence, "no sign-in log entries available (needs AuditLog.Read.All and Entra ID P1)")
	}
	if ps, ev := policiesFromErrorValues(f, evals); len(ev) > 0 {
		a.Evidence = append(a.Evidence, ev...)
		if len(ps) > 0 {
			a.Policies, a.EvidenceSource = ps, EvidenceErrorValues
			return a
		}
	}
	if ps, ev := policiesFromEvaluation(f, evals); len(ps) > 0 || len(ev) > 0 {
		a.Evidence = append(a.Evidence, ev...)
		if len(ps) > 0 {
			a.Policies, a.EvidenceSource = ps, EvidenceLocalEvaluation
			return a
		}
	}
	a.EvidenceSource = EvidenceNone
	if a.SignIn != nil {
		a.EvidenceSource = EvidenceSignInLog
	}
	return a
}

// matchSignIn finds the log entry for the attempt: same correlation id, or
// else the same error code and client app closest in time within the window.
func matchSignIn(f Failure, signIns []SignIn) *SignIn {
	if f.CorrelationID != "" {
		for i := range signIns {
			if strings.EqualFold(signIns[i].CorrelationID, f.CorrelationID) {
				return &signIns[i]
			}
		}
	}
	var best *SignIn
	var bestGap time.Duration
	for i := range signIns {
		si := &signIns[i]
		if !slices.Contains(f.Codes, si.Status.ErrorCode) {
			continue
		}
		if f.AppID != "" && !strings.EqualFold(si.AppID, f.AppID) {
			continue
		}
		gap := si.CreatedDateTime.Sub(f.At)
		if gap < 0 {
			gap = -gap
		}
		if gap <= signInMatchWindow && (best == nil || gap < bestGap) {
			best, bestGap = si, gap
		}
	}
	return best
}

func describeSignIn(si *SignIn) []string {
	kind := "non-interactive"
	if si.IsInteractive {
		kind = "interactive"
	}
	out := []string{fmt.Sprintf("sign-in log entry %s at %s (%s, app %s, correlation id %s): error %d %s",
		si.ID, stamp(si.CreatedDateTime), kind, si.AppID, si.CorrelationID, si.Status.ErrorCode, Sanitize(si.Status.FailureReason))}
	for _, l := range si.SessionLifetimePolicies {
		line := "session lifetime policy: " + l.ExpirationRequirement
		if l.Detail != "" {
			line += " (" + Sanitize(l.Detail) + ")"
		}
		out = append(out, line)
	}
	return out
}

// sifCodes are failures caused by a sign-in frequency (or, for 50078, an
// expired remembered MFA).
func isSIFFailure(codes []int) bool {
	return slices.Contains(codes, 70043) || slices.Contains(codes, 50078)
}

func policiesFromSignIn(f Failure, si *SignIn) []AttributedPolicy {
	var out []AttributedPolicy
	for _, p := range si.AppliedConditionalAccessPolicies {
		// Report-only results (reportOnlyFailure, ...) enforce nothing.
		if strings.HasPrefix(strings.ToLower(p.Result), "reportonly") {
			continue
		}
		ref := health.PolicyRef{ID: p.ID, DisplayName: p.DisplayName}
		switch {
		case strings.EqualFold(p.Result, "failure"):
			why := "sign-in log: policy result failure"
			if len(p.EnforcedGrantControls) > 0 {
				why += ", grant controls " + strings.Join(p.EnforcedGrantControls, ", ")
			}
			if len(p.EnforcedSessionControls) > 0 {
				why += ", session controls " + strings.Join(p.EnforcedSessionControls, ", ")
			}
			out = append(out, AttributedPolicy{ref, why})
		case isSIFFailure(f.Codes) && p.EnforcedSessionControls.hasFold("SignInFrequency") &&
			!strings.EqualFold(p.Result, "notApplied") && !strings.EqualFold(p.Result, "notEnabled"):
			out = append(out, AttributedPolicy{ref, "sign-in log: policy enforced session control SignInFrequency (result " + p.Result + ")"})
		}
	}
	return out
}

// policiesFromErrorValues matches the limit in an AADSTS70043 to the
// sign-in frequency of the policies that could apply.
func policiesFromErrorValues(f Failure, evals []Evaluation) ([]AttributedPolicy, []string) {
	if !slices.Contains(f.Codes, 70043) || f.MaxLifetimeSeconds <= 0 {
		return nil, nil
	}
	limit := time.Duration(f.MaxLifetimeSeconds) * time.Second
	ev := []string{fmt.Sprintf("AADSTS70043 limit %d s (%s)", f.MaxLifetimeSeconds, humanDuration(limit))}
	if !f.IssuedAt.IsZero() {
		ev[0] += fmt.Sprintf("; token issued %s, so it expired at %s", stamp(f.IssuedAt), stamp(f.IssuedAt.Add(limit)))
	}
	var sure, maybe []AttributedPolicy
	for i := range evals {
		e := &evals[i]
		if e.SignInFrequencySeconds != f.MaxLifetimeSeconds || e.Applies == False || !strings.EqualFold(e.Policy.State, StateEnabled) {
			continue
		}
		why := fmt.Sprintf("sign-in frequency %s equals the AADSTS70043 limit", humanDuration(limit))
		if e.Applies == True {
			sure = append(sure, AttributedPolicy{e.Policy, why + " and the policy applies"})
		} else {
			maybe = append(maybe, AttributedPolicy{e.Policy, why + "; applicability unknown: " + firstReason(e)})
		}
	}
	if len(sure) == 0 && len(maybe) == 0 {
		ev = append(ev, "no enabled policy that could apply has a sign-in frequency of exactly this limit")
	}
	return append(sure, maybe...), ev
}

// codeCauses maps AADSTS codes to the controls that produce them.
var codeCauses = map[int][]Cause{
	53003:  {CauseBlock},
	50076:  {CauseMFA, CauseAuthStrength},
	50079:  {CauseMFA, CauseAuthStrength},
	50074:  {CauseMFA, CauseAuthStrength},
	53000:  {CauseCompliantDevice, CauseCompliantApp, CauseApprovedApplication},
	530003: {CauseCompliantDevice},
	53001:  {CauseDomainJoinedDevice},
	70043:  {CauseSignInFrequency, CauseSIFEveryTime},
}

// policiesFromEvaluation picks enabled policies whose breaking control
// produces the failure's code.
func policiesFromEvaluation(f Failure, evals []Evaluation) ([]AttributedPolicy, []string) {
	var want []Cause
	for _, c := range f.Codes {
		want = append(want, codeCauses[c]...)
	}
	if len(want) == 0 {
		if slices.Contains(f.Codes, 50078) {
			return nil, []string{"AADSTS50078 (presented MFA expired) comes from the remembered-MFA period, not from a policy; see the remember-MFA setting"}
		}
		return nil, []string{fmt.Sprintf("codes %v are not produced by a Conditional Access control", f.Codes)}
	}
	var sure, maybe []AttributedPolicy
	for i := range evals {
		e := &evals[i]
		if !strings.EqualFold(e.Policy.State, StateEnabled) || !containsCause(e.Causes, want...) {
			continue
		}
		why := fmt.Sprintf("local evaluation: %s with %s", e.ImpactIfApplies, strings.Join(e.Controls, "; "))
		switch e.Applies {
		case True:
			sure = append(sure, AttributedPolicy{e.Policy, why})
		case Unknown:
			maybe = append(maybe, AttributedPolicy{e.Policy, why + "; applicability unknown: " + firstReason(e)})
		}
	}
	if len(sure) == 0 && len(maybe) == 0 {
		return nil, []string{"local evaluation: no enabled policy with a matching control applies"}
	}
	return append(sure, maybe...), nil
}

func firstReason(e *Evaluation) string {
	if len(e.Reasons) == 0 {
		return "no reason recorded"
	}
	return e.Reasons[0]
}
