package probe

import (
	"fmt"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/store"
)

// StateStore is what the probe needs from internal/store: the encrypted
// token caches, the probe history and small JSON records per tenant.
type StateStore interface {
	TokenCacheStore
	AppendProbe(tenantID string, a store.ProbeAttempt) error
	PutJSON(bucket, key string, v any) error
	GetJSON(bucket, key string, v any) (found bool, err error)
	Delete(bucket, key string) error
	// Batch shares one commit among concurrent writers (probe state after
	// each attempt), so 32 probes in flight do not pay 32 fsyncs.
	Batch(fn func(tx *store.Tx) error) error
}

var _ StateStore = (*store.DB)(nil)

// AuthFlow is how the interactive sign-in behind the token happened. It
// matters because a session begun with device code stays "protocol
// tracked": a policy blocking device code flow later blocks its refreshes.
type AuthFlow string

const (
	AuthFlowDeviceCode AuthFlow = "deviceCode"
	AuthFlowAuthCode   AuthFlow = "authorizationCode"
)

// Sources of the interactive sign-in time, most precise first.
const (
	SignInSourceAuthTime   = "auth_time"  // the id_token's auth_time claim
	SignInSourceEnrollment = "enrollment" // when enrollment completed
	SignInSource70043      = "70043"      // the issue time a 70043 error reported
)

// Enrollment is the record kept per tenant when a token is enrolled. It
// holds no token: the tokens live only in the encrypted cache.
type Enrollment struct {
	TenantID                string     `json:"tenantId"`
	Method                  AuthFlow   `json:"method"`
	ClientType              ClientType `json:"clientType"`
	HomeAccountID           string     `json:"homeAccountId"`
	Username                string     `json:"username"`
	EnrolledAt              time.Time  `json:"enrolledAt"`
	InteractiveSignIn       time.Time  `json:"interactiveSignIn"`
	InteractiveSignInSource string     `json:"interactiveSignInSource"`
	TokenHasMFA             bool       `json:"tokenHasMfa"`
	GrantedScopes           []string   `json:"grantedScopes"`
	AccessTokenExpiry       time.Time  `json:"accessTokenExpiry"`
}

// ProbeState is what the probe remembers between attempts of a tenant (the
// full history is in the probe bucket). Re-enrollment deletes it.
type ProbeState struct {
	LastAttempt    time.Time `json:"lastAttempt"`
	LastOutcome    string    `json:"lastOutcome"`
	LastCause      Cause     `json:"lastCause,omitempty"`
	LastRedemption time.Time `json:"lastRedemption,omitzero"`
	// SIFIssuedAt is the token issue time the last 70043 reported: the
	// start of the sign-in-frequency clock as the identity provider sees it.
	SIFIssuedAt time.Time `json:"sifIssuedAt,omitzero"`
}

func enrollmentKey(tenantID string) string { return tenantID + "/enrollment" }
func probeStateKey(tenantID string) string { return tenantID + "/probestate" }

// LoadEnrollment returns the tenant's enrollment record; found is false
// when the tenant was never enrolled.
func LoadEnrollment(st StateStore, tenantID string) (e Enrollment, found bool, err error) {
	found, err = st.GetJSON(store.BucketTenants, enrollmentKey(tenantID), &e)
	if err != nil {
		return Enrollment{}, false, fmt.Errorf("enrollment record of tenant %s: %w", tenantID, err)
	}
	return e, found, nil
}

// LoadProbeState returns what the probe remembers about the tenant.
func LoadProbeState(st StateStore, tenantID string) (ProbeState, error) {
	var ps ProbeState
	if _, err := st.GetJSON(store.BucketTenants, probeStateKey(tenantID), &ps); err != nil {
		return ProbeState{}, fmt.Errorf("probe state of tenant %s: %w", tenantID, err)
	}
	return ps, nil
}

// Clocks are the two clocks the policy engine predicts breaks from, and
// the facts it shows next to a sign-in-frequency prediction.
type Clocks struct {
	// InteractiveSignIn starts the sign-in-frequency clock; a refresh does
	// not reset it.
	InteractiveSignIn       time.Time `json:"interactiveSignIn,omitzero"`
	InteractiveSignInSource string    `json:"interactiveSignInSource,omitempty"`
	// LastRedemption starts the refresh-token inactivity clock (90 days by
	// default); every successful redemption resets it.
	LastRedemption time.Time  `json:"lastRedemption,omitzero"`
	ClientType     ClientType `json:"clientType,omitempty"`
	AuthFlow       AuthFlow   `json:"authFlow,omitempty"`
	TokenHasMFA    bool       `json:"tokenHasMfa"`
}

// clocksFrom derives the clocks from the enrollment record and the probe
// state: auth_time when the id_token carried it, else the enrollment time,
// else the issue time a 70043 reported.
func clocksFrom(e Enrollment, enrolled bool, ps ProbeState) Clocks {
	c := Clocks{LastRedemption: ps.LastRedemption}
	if enrolled {
		c.InteractiveSignIn = e.InteractiveSignIn
		c.InteractiveSignInSource = e.InteractiveSignInSource
		c.ClientType = e.ClientType
		c.AuthFlow = e.Method
		c.TokenHasMFA = e.TokenHasMFA
		if c.LastRedemption.Before(e.EnrolledAt) {
			// Enrollment itself was a token issue: the inactivity clock
			// starts there at the latest.
			c.LastRedemption = e.EnrolledAt
		}
	}
	if c.InteractiveSignIn.IsZero() && !ps.SIFIssuedAt.IsZero() {
		c.InteractiveSignIn = ps.SIFIssuedAt
		c.InteractiveSignInSource = SignInSource70043
	}
	return c
}

// LoadClocks reads the tenant's clocks from the store (for the policy
// engine and the CLI).
func LoadClocks(st StateStore, tenantID string) (Clocks, error) {
	e, found, err := LoadEnrollment(st, tenantID)
	if err != nil {
		return Clocks{}, err
	}
	ps, err := LoadProbeState(st, tenantID)
	if err != nil {
		return Clocks{}, err
	}
	return clocksFrom(e, found, ps), nil
}

// StateAfterRestart is the scheduler state a tenant resumes in from its
// stored probe state: the last verdict stands until the next probe, except
// that a run of transient failures starts its debounce afresh.
func StateAfterRestart(ps ProbeState) State {
	switch Outcome(ps.LastOutcome) {
	case OutcomeOK:
		return StateHealthy
	case OutcomeDefinitive:
		return StateFailing
	}
	return StatePending
}
