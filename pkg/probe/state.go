package probe

import "time"

// State is a tenant's probe state.
type State string

const (
	// StatePending: not probed yet, or not enrolled yet.
	StatePending State = "pending"
	// StateHealthy: the last attempt redeemed the refresh token.
	StateHealthy State = "healthy"
	// StateFailing: a definitive failure; the token needs re-enrollment or
	// an admin change in the tenant.
	StateFailing State = "failing"
	// StateUnreachable: transient failures outlasted the debounce (count
	// and duration) while the identity provider was reachable for others.
	StateUnreachable State = "unreachable"
)

// debounce says when transient failures make a tenant unreachable.
type debounce struct {
	failures int
	after    time.Duration
}

// transition applies one result to e and returns the new state. It does
// not touch the schedule. idpDown says the global outage is in effect: a
// transient failure then belongs to the outage, not to the tenant, and
// neither counts toward nor triggers the tenant's own debounce.
func (db debounce) transition(e *entry, r Result, now time.Time, idpDown bool) State {
	switch {
	case r.NotEnrolled:
		e.transients, e.backoff = 0, 0
		return StatePending
	case r.Outcome == OutcomeOK:
		e.transients, e.backoff = 0, 0
		return StateHealthy
	case r.Outcome == OutcomeDefinitive:
		e.transients, e.backoff = 0, 0
		return StateFailing
	}
	// Transient. A local failure (the agent's own state file) and a
	// failure during the global outage belong to the agent or the
	// identity provider, not to this tenant: its state stands.
	if idpDown || r.Local {
		return e.state
	}
	if e.transients == 0 {
		e.firstTransient = now
	}
	e.transients++
	if e.state == StateFailing {
		// A timeout says nothing about a token already known dead.
		return StateFailing
	}
	if e.transients >= db.failures && now.Sub(e.firstTransient) >= db.after {
		return StateUnreachable
	}
	return e.state
}
