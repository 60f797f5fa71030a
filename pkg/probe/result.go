package probe

import (
	"time"

	"github.com/tokenhealth/tokenhealth/internal/store"
)

// Outcome is the verdict on one probe attempt.
type Outcome string

const (
	// OutcomeOK: the refresh token was redeemed at the identity provider.
	OutcomeOK Outcome = store.OutcomeOK
	// OutcomeDefinitive: the token is dead or blocked; retrying cannot help.
	OutcomeDefinitive Outcome = store.OutcomeDefinitive
	// OutcomeTransient: the attempt says nothing about the token (throttled,
	// outage, timeout, network); the schedule retries.
	OutcomeTransient Outcome = store.OutcomeTransient
)

// Token sources recorded per attempt.
const (
	TokenSourceIdP   = "identity_provider"
	TokenSourceCache = "cache"
)

// Result is one probe attempt. It holds no token.
type Result struct {
	TenantID string
	// Time is when the attempt started, on the agent's clock.
	Time    time.Time
	Outcome Outcome
	// Latency is the wall time of the token request.
	Latency time.Duration
	// Diagnosis explains a failed attempt (zero value on success).
	Diagnosis Diagnosis
	// AccessTokenExpiry is the new access token's expiry on success.
	AccessTokenExpiry time.Time
	TokenSource       string
	// Message is one line for logs and the CLI; never a token.
	Message string
	// NotEnrolled: no token to probe yet. Not recorded in the history.
	NotEnrolled bool
	// Abandoned: the agent stopped the attempt (shutdown) before it ended.
	// Not recorded: it says nothing about the token.
	Abandoned bool
	// Clocks as known after this attempt.
	Clocks Clocks
	// Local: the attempt failed on this side (state file, configuration)
	// and says nothing about the token or the identity provider.
	Local bool
	// RecordErr is set when the attempt could not be persisted.
	RecordErr error
}

// Failed reports whether the attempt failed (definitively or not).
func (r Result) Failed() bool { return r.Outcome != OutcomeOK }

// Attempt is the form persisted in the probe history.
func (r Result) Attempt() store.ProbeAttempt {
	a := store.ProbeAttempt{
		Time:              r.Time,
		Outcome:           string(r.Outcome),
		LatencyMS:         float64(r.Latency.Microseconds()) / 1000,
		AccessTokenExpiry: r.AccessTokenExpiry,
		TokenSource:       r.TokenSource,
		Message:           r.Message,
	}
	if r.Outcome == OutcomeOK {
		return a
	}
	d := r.Diagnosis
	a.Codes = d.Codes
	a.Cause = string(d.Cause)
	a.Error = d.Error
	a.SubError = d.SubError
	a.TraceID = d.Values[ValueTraceID]
	a.CorrelationID = d.Values[ValueCorrelationID]
	if len(d.Values) > 0 {
		a.Values = make(map[string]string, len(d.Values))
		for k, v := range d.Values {
			if k == ValueTraceID || k == ValueCorrelationID {
				continue // already in their own fields
			}
			a.Values[k] = v
		}
	}
	return a
}

// outcomeOf turns a diagnosis into an outcome. The classifier's own
// verdict wins; when it has none (an unknown code), an OAuth error that
// says the grant or the client was refused is definitive, anything else
// is treated as transient so one odd answer never marks a token dead.
func outcomeOf(d Diagnosis) Outcome {
	switch {
	case d.Transient:
		return OutcomeTransient
	case d.Definitive:
		return OutcomeDefinitive
	}
	switch d.Error {
	case "invalid_grant", "interaction_required", "invalid_client", "unauthorized_client", "consent_required":
		return OutcomeDefinitive
	}
	return OutcomeTransient
}
