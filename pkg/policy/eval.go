package policy

import (
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// Evaluation is one policy judged for one subject.
type Evaluation struct {
	Policy  health.PolicyRef `json:"policy"`
	Applies Tri              `json:"applies"`
	// Reasons say which condition decided and why, in plain words.
	Reasons []string `json:"reasons"`
	// Controls are the grant and session controls that matter to a
	// delegated refresh token, each with its verdict.
	Controls []string `json:"controls,omitempty"`
	Impact   Impact   `json:"impact"`
	// ImpactIfApplies is the impact should the policy apply (and be
	// enforced): it tells what an "unknown" or report-only policy would do.
	ImpactIfApplies              Impact   `json:"impactIfApplies"`
	Causes                       []Cause  `json:"causes,omitempty"`
	SignInFrequencySeconds       int64    `json:"signInFrequencySeconds,omitempty"`
	SignInFrequencySecondaryOnly bool     `json:"signInFrequencySecondaryOnly,omitempty"`
	PersistentBrowser            string   `json:"persistentBrowser,omitempty"`
	Remediation                  []string `json:"remediation,omitempty"`

	// Def is the policy definition evaluated (for remediation and drift).
	Def *Policy `json:"-"`
}

// Engine holds policies and named locations compiled once, so evaluating
// many subjects (or re-evaluating on every probe) costs little. It is safe
// for concurrent use.
type Engine struct {
	policies     []compiledPolicy
	locations    map[string]*compiledLocation
	locationList []*compiledLocation
}

type compiledPolicy struct {
	p       *Policy
	rule    ruleNode
	ruleErr error
	sif     sifOutcome
	pb      string
	excl    *exclusionTemplate
	judged  [2]controlJudgement // without, with the MFA claim
	// Flags enums split once.
	insiderLevels, transferMethods []string
	// lastRem memoises the remediation: an engine serves one tenant whose
	// service account is evaluated again on every probe.
	lastRem *atomic.Pointer[remMemo]
}

type remKey struct {
	upn, userID, flow string
	impact            Impact
	hasMFA            bool
}

type remMemo struct {
	key   remKey
	lines []string
}

// remediation returns the (shared, read-only) remediation lines.
func (cp *compiledPolicy) remediation(ev *Evaluation, s *Subject) []string {
	k := remKey{s.UPN, s.UserID, s.AuthFlow, ev.Impact, s.TokenHasMFA}
	if m := cp.lastRem.Load(); m != nil && m.key == k {
		return m.lines
	}
	lines := slices.Clip(remediationFor(ev, s, cp.excl))
	cp.lastRem.Store(&remMemo{key: k, lines: lines})
	return lines
}

// Compile prepares policies and named locations for evaluation. The slices
// are referenced, not copied: do not modify them afterwards.
func Compile(policies []Policy, locations []NamedLocation) *Engine {
	e := &Engine{locations: compileLocations(locations)}
	for i := range locations {
		e.locationList = append(e.locationList, e.locations[strings.ToLower(locations[i].ID)])
	}
	e.policies = make([]compiledPolicy, len(policies))
	for i := range policies {
		p := &policies[i]
		cp := compiledPolicy{p: p, excl: newExclusionTemplate(p), lastRem: new(atomic.Pointer[remMemo])}
		if c := p.Conditions; c != nil && c.Devices != nil && c.Devices.DeviceFilter != nil && strings.TrimSpace(c.Devices.DeviceFilter.Rule) != "" {
			cp.rule, cp.ruleErr = parseDeviceRule(c.Devices.DeviceFilter.Rule)
		}
		if sc := p.SessionControls; sc != nil {
			cp.sif = evaluateSIF(sc.SignInFrequency)
			if pb := sc.PersistentBrowser; pb != nil && pb.IsEnabled {
				cp.pb = pb.Mode
			}
		}
		if c := p.Conditions; c != nil {
			cp.insiderLevels = splitFlags(c.InsiderRiskLevels)
			if c.AuthenticationFlows != nil {
				cp.transferMethods = splitFlags(c.AuthenticationFlows.TransferMethods)
			}
		}
		cp.judged[0] = judgeControls(p, cp.sif, cp.pb, false)
		cp.judged[1] = judgeControls(p, cp.sif, cp.pb, true)
		e.policies[i] = cp
	}
	return e
}

// Evaluate judges every policy for s, in the order the policies were given.
func (e *Engine) Evaluate(s Subject) []Evaluation {
	s = s.withDefaults()
	lc := newLocCtx(&s)
	out := make([]Evaluation, len(e.policies))
	arena := make([]string, 0, 5*len(e.policies))
	for i := range e.policies {
		out[i] = e.evaluate(&e.policies[i], &s, &lc, &arena)
	}
	return out
}

// Evaluate is a convenience for a single use of Compile.
func Evaluate(policies []Policy, locations []NamedLocation, s Subject) []Evaluation {
	return Compile(policies, locations).Evaluate(s)
}

// verdict accumulates per-condition answers: any false makes the policy not
// apply, otherwise any unknown makes it unknown. Answers are kept in
// fixed arrays on the stack (evaluate records at most 12) and copied once
// into the evaluation's shared reasons arena.
type verdict struct {
	neg, unk, pos reasonList
}

type reasonList struct {
	fixed    [12]string
	n        int
	overflow []string // only if a future condition pushes past fixed
}

func (l *reasonList) add(why string) {
	if l.n < len(l.fixed) {
		l.fixed[l.n] = why
		l.n++
		return
	}
	l.overflow = append(l.overflow, why)
}

func (l *reasonList) len() int { return l.n + len(l.overflow) }

func (l *reasonList) appendTo(dst []string) []string {
	return append(append(dst, l.fixed[:l.n]...), l.overflow...)
}

func (v *verdict) add(t Tri, why string) {
	switch t {
	case False:
		v.neg.add(why)
	case Unknown:
		v.unk.add(why)
	default:
		if why != "" {
			v.pos.add(why)
		}
	}
}

// result copies the reasons that explain the answer into *arena and
// returns them as a capped sub-slice (appending to it never touches the
// next policy's reasons).
func (v *verdict) result(arena *[]string) (Tri, []string) {
	start := len(*arena)
	var t Tri
	switch {
	case v.neg.len() > 0:
		t = False
		*arena = v.neg.appendTo(*arena)
	case v.unk.len() > 0:
		t = Unknown
		*arena = v.pos.appendTo(v.unk.appendTo(*arena))
	default:
		t = True
		*arena = v.pos.appendTo(*arena)
	}
	end := len(*arena)
	return t, (*arena)[start:end:end]
}

func (e *Engine) evaluate(cp *compiledPolicy, s *Subject, lc *locCtx, arena *[]string) Evaluation {
	p := cp.p
	ev := Evaluation{Policy: p.Ref(), Def: p, SignInFrequencySeconds: cp.sif.seconds, PersistentBrowser: cp.pb}
	var v verdict
	c := p.Conditions
	if c == nil {
		v.add(Unknown, "policy has no conditions")
	} else {
		if ca := c.ClientApplications; ca != nil && len(ca.IncludeServicePrincipals) > 0 {
			v.add(False, "policy targets workload identities (service principals), not user sign-ins")
		}
		if len(c.ServicePrincipalRiskLevels) > 0 {
			v.add(False, "service principal risk applies to workload identities only")
		}
		if c.ClientApplications == nil || len(c.ClientApplications.IncludeServicePrincipals) == 0 {
			v.add(usersCondition(c.Users, s))
		}
		v.add(applicationsCondition(c.Applications, s))
		v.add(clientAppTypesCondition(c.ClientAppTypes, s))
		v.add(e.locationCondition(c.Locations, lc))
		v.add(platformsCondition(c.Platforms, s))
		if c.Devices != nil {
			v.add(deviceFilterCondition(c.Devices.DeviceFilter, cp.rule, cp.ruleErr))
		}
		v.add(authFlowsCondition(cp.transferMethods, s))
		v.add(riskCondition("user", c.UserRiskLevels, s.UserRisk))
		v.add(riskCondition("sign-in", c.SignInRiskLevels, s.SignInRisk))
		v.add(riskCondition("insider", cp.insiderLevels, s.InsiderRisk))
	}
	ev.Applies, ev.Reasons = v.result(arena)
	e.applyState(cp, s, &ev)
	return ev
}

// controlJudgement is what a policy's controls do to the token; it depends
// only on the policy and on whether the token carries the MFA claim, so it
// is computed at Compile for both cases.
type controlJudgement struct {
	controls []string
	causes   []Cause
	ifApply  Impact
}

func judgeControls(p *Policy, sif sifOutcome, pb string, hasMFA bool) controlJudgement {
	g := evaluateGrant(p.GrantControls, hasMFA)
	j := controlJudgement{controls: g.texts}
	if sif.enabled {
		j.controls = append(j.controls, sif.text)
	}
	if pb != "" {
		j.controls = append(j.controls, "persistent browser session "+pb+" (browsers only; no effect on a daemon's refresh token)")
	}
	// A secondaryAuthentication frequency re-prompts only the MFA step, so
	// it matters only when MFA is part of the session (the token carries the
	// claim; a grant demanding MFA without it already breaks the token).
	mfaInvolved := hasMFA
	switch {
	case g.state == ctlUnsatisfiable:
		j.ifApply, j.causes = ImpactBreaksNow, g.causes
	case sif.enabled && sif.unknown:
		j.ifApply = ImpactUnknown
	case sif.enabled && sif.secondary && !mfaInvolved:
		j.ifApply = ImpactUnknown
		j.controls = append(j.controls, "sign-in frequency applies to the MFA step only, and MFA is not part of this token's session")
	case sif.everyTime:
		j.ifApply, j.causes = ImpactBreaksEveryRefresh, []Cause{CauseSIFEveryTime}
	case sif.enabled:
		j.ifApply, j.causes = ImpactBreaksAfter, []Cause{CauseSignInFrequency}
	case g.state == ctlUnknown:
		j.ifApply = ImpactUnknown
	default:
		j.ifApply = ImpactNone
	}
	if j.ifApply != ImpactBreaksNow && j.ifApply != ImpactUnknown && g.state == ctlUnknown {
		j.controls = append(j.controls, "grant controls could not be fully judged")
	}
	j.controls = slices.Clip(j.controls)
	j.causes = slices.Clip(j.causes)
	return j
}

// applyState sets Impact from the state, the applicability and the
// controls, and writes the remediation.
func (e *Engine) applyState(cp *compiledPolicy, s *Subject, ev *Evaluation) {
	j := &cp.judged[0]
	if s.TokenHasMFA {
		j = &cp.judged[1]
	}
	ev.Controls, ev.Causes, ev.ImpactIfApplies = j.controls, j.causes, j.ifApply
	ev.SignInFrequencySecondaryOnly = cp.sif.secondary
	state := cp.p.State
	switch {
	case strings.EqualFold(state, StateDisabled):
		ev.Impact = ImpactNone
		ev.Reasons = append([]string{"policy is disabled"}, ev.Reasons...)
		return
	case !strings.EqualFold(state, StateEnabled) && !strings.EqualFold(state, StateReportOnly):
		ev.Impact = ImpactUnknown
		ev.Reasons = append([]string{"policy state " + quoteOrEmpty(state) + " is unknown"}, ev.Reasons...)
		return
	}
	switch ev.Applies {
	case False:
		ev.Impact = ImpactNone
	case Unknown:
		ev.Impact = ImpactUnknown
		if ev.ImpactIfApplies == ImpactNone {
			ev.Impact = ImpactNone
		}
	default:
		ev.Impact = ev.ImpactIfApplies
	}
	if strings.EqualFold(state, StateReportOnly) && ev.Impact.Breaking() {
		ev.Impact = ImpactReportOnlyWouldBreak
	}
	ev.Remediation = cp.remediation(ev, s)
}

func containsCause(cs []Cause, want ...Cause) bool {
	for _, c := range cs {
		for _, w := range want {
			if c == w {
				return true
			}
		}
	}
	return false
}

func quoteOrEmpty(s string) string {
	if s == "" {
		return "(empty)"
	}
	return "'" + s + "'"
}

// SortByImpact orders evaluations most urgent first (breaking policies,
// then report-only risks, unknown, none), shortest sign-in frequency first
// within breaks_after, then by display name. The sort is stable.
func SortByImpact(evs []Evaluation) {
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.Impact.rank() != b.Impact.rank() {
			return a.Impact.rank() > b.Impact.rank()
		}
		if a.Impact == ImpactBreaksAfter && a.SignInFrequencySeconds != b.SignInFrequencySeconds {
			return a.SignInFrequencySeconds < b.SignInFrequencySeconds
		}
		return strings.ToLower(a.Policy.DisplayName) < strings.ToLower(b.Policy.DisplayName)
	})
}
