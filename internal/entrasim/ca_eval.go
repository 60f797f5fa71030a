package entrasim

import (
	"fmt"
	"net/netip"
	"time"
)

// This is the simulator's own Conditional Access evaluator, deliberately
// independent of pkg/policy (the product's evaluator) so that tests of the
// product against the simulator are not circular.

// ClientAppTypeDesktop is the client app type of every OAuth client here:
// MSAL (Go or Python) counts as "mobile apps and desktop clients".
const ClientAppTypeDesktop = "mobileAppsAndDesktopClients"

// everyTimeSkew is the clock skew Entra allows an "every time" sign-in
// frequency.
const everyTimeSkew = 5 * time.Minute

// caInput is what CA sees of one token request.
type caInput struct {
	user        *User
	resourceID  string // the cloud app: Graph for graph scopes
	clientID    string // the requesting app; policies may name it too
	platform    string // android, iOS, windows, macOS, linux; "" unknown
	ip          netip.Addr
	country     string
	interactive bool
	// deviceCodeTracked: the request is a device code grant, or a refresh
	// of a session that began with one (protocol tracking).
	deviceCodeTracked bool
	authTime          time.Time
	mfaTime           time.Time // zero: no MFA claim
	rememberMFA       time.Duration
	now               time.Time
	locations         map[string]*NamedLocation
}

// caOutcome is the evaluation of every policy of the tenant.
type caOutcome struct {
	err       *aadError // the enforced failure, nil when access is granted
	applied   []AppliedPolicy
	status    string // success, failure, notApplied
	lifetimes []SessionLifetimePolicy
	mfaNeeded bool // some enforced policy asked for MFA
}

// failure kinds, in the order Entra reports them when several apply.
const (
	failNone = iota
	failBlock
	failSignInFrequency
	failDevice
	failMFA
)

type policyVerdict struct {
	applies   bool
	kind      int
	err       *aadError
	grants    []string
	sessions  []string
	lifetimes []SessionLifetimePolicy
	mfa       bool
}

func evaluateCA(policies []*Policy, in *caInput, errs stsErrors) caOutcome {
	out := caOutcome{status: "notApplied", applied: make([]AppliedPolicy, 0, len(policies))}
	bestKind := failNone
	var mfaPolicies []string
	for _, p := range policies {
		ap := AppliedPolicy{ID: p.ID, DisplayName: p.DisplayName, EnforcedGrantControls: []string{}, EnforcedSessionControls: []string{}}
		if p.State == "disabled" {
			ap.Result = "notEnabled"
			out.applied = append(out.applied, ap)
			continue
		}
		reportOnly := p.State == "enabledForReportingButNotEnforced"
		v := p.compiled.evaluate(in, errs)
		if v.applies {
			ap.EnforcedGrantControls, ap.EnforcedSessionControls = v.grants, v.sessions
		}
		switch {
		case !v.applies:
			ap.Result = "notApplied"
		case v.kind == failNone:
			ap.Result = "success"
		case reportOnly && v.kind == failMFA && in.interactive:
			ap.Result = "interrupted" // renamed below
		default:
			ap.Result = "failure"
		}
		if reportOnly {
			ap.Result = map[string]string{
				"notApplied": "reportOnlyNotApplied", "success": "reportOnlySuccess",
				"failure": "reportOnlyFailure", "interrupted": "reportOnlyInterrupted",
			}[ap.Result]
		} else if v.applies {
			out.lifetimes = append(out.lifetimes, v.lifetimes...)
			if v.mfa {
				out.mfaNeeded = true
			}
			if out.status == "notApplied" {
				out.status = "success"
			}
			if v.kind != failNone {
				out.status = "failure"
				if v.kind == failMFA {
					mfaPolicies = append(mfaPolicies, p.ID)
				}
				if bestKind == failNone || v.kind < bestKind {
					bestKind, out.err = v.kind, v.err
				}
			}
		}
		out.applied = append(out.applied, ap)
	}
	if out.err != nil && bestKind == failMFA {
		out.err.withClaims(capolidsClaims(mfaPolicies))
	}
	return out
}

// evaluate decides whether the policy applies to the request and, if so,
// whether its grant and session controls are satisfied.
func (c *compiledPolicy) evaluate(in *caInput, errs stsErrors) policyVerdict {
	var v policyVerdict
	if !c.appliesTo(in) {
		return v
	}
	v.applies = true
	for _, g := range c.grantControls {
		v.grants = append(v.grants, grantControlName(g))
	}
	if c.authStrength {
		v.grants = append(v.grants, "RequireAuthenticationStrength")
	}
	if v.grants == nil {
		v.grants = []string{}
	}
	v.sessions = []string{}
	if c.sif != nil {
		v.sessions = append(v.sessions, "SignInFrequency")
	}
	kind, err, mfa := c.checkGrants(in, errs)
	v.mfa = mfa
	if c.sif != nil && kind != failBlock {
		if sk, serr, lt := c.checkSignInFrequency(in, errs); sk != failNone {
			kind, err = sk, serr
			v.lifetimes = append(v.lifetimes, lt)
		} else if lt.ExpirationRequirement != "" {
			v.lifetimes = append(v.lifetimes, lt)
		}
	}
	v.kind, v.err = kind, err
	return v
}

func (c *compiledPolicy) appliesTo(in *caInput) bool {
	u := in.user
	guest := u.UserType == "Guest"
	// Exclusion wins over inclusion.
	if c.excludeUsers.has(u.ID) || (c.excludeGuests && guest) || anyIn(c.excludeGroups, u.groupClosure) || anyIn(c.excludeRoles, u.roleClosure) {
		return false
	}
	included := c.includeUsers.has("all") || c.includeUsers.has(u.ID) || (c.includeGuests && guest) ||
		(c.includeUsers.has("guestsorexternalusers") && guest) ||
		anyIn(c.includeGroups, u.groupClosure) || anyIn(c.includeRoles, u.roleClosure)
	if !included {
		return false
	}
	// Target resources are matched on the resource (Graph) and, since Graph
	// documents includeApplications as "client IDs (appId)", on the
	// requesting app as well. "Office365" does not include Microsoft Graph.
	if c.userActions || c.excludeApps.has(in.resourceID) || (in.clientID != "" && c.excludeApps.has(in.clientID)) {
		return false
	}
	if !(c.includeApps.has("all") || c.includeApps.has(in.resourceID) || (in.clientID != "" && c.includeApps.has(in.clientID))) {
		return false
	}
	if len(c.clientAppTypes) > 0 && !c.clientAppTypes.has("all") && !c.clientAppTypes.has(ClientAppTypeDesktop) {
		return false
	}
	if c.hasPlatforms {
		p := lowerASCII(in.platform)
		if (p != "" && c.excludePlatforms.has(p)) || !(c.includePlatforms.has("all") || (p != "" && c.includePlatforms.has(p))) {
			return false
		}
	}
	if c.hasLocations {
		if c.matchLocations(c.excludeLocations, in) || !c.matchLocations(c.includeLocations, in) {
			return false
		}
	}
	if len(c.transferMethods) > 0 && !(c.transferMethods.has("deviceCodeFlow") && in.deviceCodeTracked) {
		return false
	}
	for _, levels := range c.riskLevels {
		if !levels.has("none") { // simulated sign-ins carry no risk
			return false
		}
	}
	if c.hasDeviceFilter && c.deviceFilterMode != "exclude" {
		// An unregistered server device has no attributes for an include
		// filter to match; an exclude filter cannot exclude it either.
		return false
	}
	return true
}

func (c *compiledPolicy) matchLocations(ids set, in *caInput) bool {
	for id := range ids {
		switch id {
		case "all":
			return true
		case "alltrusted":
			for _, nl := range in.locations {
				if nl.loc.trusted && nl.loc.contains(in.ip, in.country) {
					return true
				}
			}
		default:
			if nl := in.locations[id]; nl != nil && nl.loc.contains(in.ip, in.country) {
				return true
			}
		}
	}
	return false
}

// checkGrants evaluates the grant controls against an unregistered server
// device and the session's MFA claim.
func (c *compiledPolicy) checkGrants(in *caInput, errs stsErrors) (kind int, err *aadError, mfaAsked bool) {
	if c.noGrantControl {
		return failNone, nil, false
	}
	type result struct {
		ok   bool
		kind int
	}
	var results []result
	mfaExpired := false
	mfaOK := func() bool {
		if in.mfaTime.IsZero() {
			return false
		}
		if in.rememberMFA > 0 && in.now.Sub(in.mfaTime) > in.rememberMFA {
			mfaExpired = true
			return false
		}
		return true
	}
	for _, g := range c.grantControls {
		switch g {
		case "block":
			results = append(results, result{false, failBlock})
		case "mfa":
			mfaAsked = true
			results = append(results, result{mfaOK(), failMFA})
		case "compliantDevice", "domainJoinedDevice", "approvedApplication", "compliantApplication":
			results = append(results, result{false, failDevice})
		default: // passwordChange (risk only), unknown future controls
			results = append(results, result{true, failNone})
		}
	}
	if c.authStrength {
		mfaAsked = true
		results = append(results, result{mfaOK(), failMFA})
	}
	if c.termsOfUse {
		results = append(results, result{true, failNone}) // accepted at first sign-in
	}
	satisfied := c.grantOperator != "OR"
	worst := failNone
	for _, r := range results {
		if c.grantOperator == "OR" {
			satisfied = satisfied || r.ok
		} else {
			satisfied = satisfied && r.ok
		}
		if !r.ok && (worst == failNone || r.kind < worst) {
			worst = r.kind
		}
	}
	if satisfied {
		return failNone, nil, mfaAsked
	}
	// Under OR, MFA is the control the user can satisfy, so Entra asks
	// for it rather than for a device the server can never present.
	if c.grantOperator == "OR" && mfaAsked && worst != failBlock {
		worst = failMFA
	}
	switch worst {
	case failBlock:
		return failBlock, errs.blocked(), mfaAsked
	case failMFA:
		switch {
		case mfaExpired:
			return failMFA, errs.mfaExpired(in.resourceID), true
		case !in.user.HasMFAMethod():
			return failMFA, errs.mfaRegistration(in.resourceID), true
		}
		return failMFA, errs.mfaRequired(in.resourceID), true
	default:
		return failDevice, c.deviceError(errs), mfaAsked
	}
}

func (c *compiledPolicy) deviceError(errs stsErrors) *aadError {
	has := func(x string) bool {
		for _, g := range c.grantControls {
			if g == x {
				return true
			}
		}
		return false
	}
	switch {
	case has("compliantDevice") && has("domainJoinedDevice"):
		return errs.deviceNotManaged()
	case has("compliantDevice"):
		return errs.deviceNotCompliant()
	case has("domainJoinedDevice"):
		return errs.deviceNotDomainJoined()
	}
	return errs.blocked() // approved/compliant client app: never a desktop MSAL client
}

// checkSignInFrequency applies the session control. Interactive grants rest
// on the authentication that just happened, so only refreshes can fail.
func (c *compiledPolicy) checkSignInFrequency(in *caInput, errs stsErrors) (int, *aadError, SessionLifetimePolicy) {
	f := c.sif
	base := in.authTime
	if f.secondaryOnly {
		if in.mfaTime.IsZero() {
			return failNone, nil, SessionLifetimePolicy{}
		}
		base = in.mfaTime
	}
	limit, req := f.limit, "signInFrequencyPeriodicReauthentication"
	if f.everyTime {
		limit, req = everyTimeSkew, "signInFrequencyEveryTime"
	}
	age := in.now.Sub(base)
	if in.interactive || age <= limit {
		return failNone, nil, SessionLifetimePolicy{ExpirationRequirement: req,
			Detail: fmt.Sprintf("Sign-in frequency of %s not reached (authenticated %s ago).", describeLimit(f), age.Truncate(time.Second))}
	}
	return failSignInFrequency, errs.signInFrequency(base, limit), SessionLifetimePolicy{ExpirationRequirement: req,
		Detail: fmt.Sprintf("Sign-in frequency of %s exceeded: reauthentication required.", describeLimit(f))}
}

func describeLimit(f *signInFrequency) string {
	switch {
	case f.everyTime:
		return "every time"
	case f.limit%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", f.limit/(24*time.Hour))
	default:
		return fmt.Sprintf("%d hours", f.limit/time.Hour)
	}
}

func grantControlName(g string) string {
	switch g {
	case "block":
		return "Block"
	case "mfa":
		return "Mfa"
	case "compliantDevice":
		return "RequireCompliantDevice"
	case "domainJoinedDevice":
		return "RequireDomainJoinedDevice"
	case "approvedApplication":
		return "RequireApprovedApp"
	case "compliantApplication":
		return "RequireCompliantApp"
	case "passwordChange":
		return "RequirePasswordChange"
	}
	return g
}

func anyIn(want set, have map[string]bool) bool {
	for id := range want {
		if have[id] {
			return true
		}
	}
	return false
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
