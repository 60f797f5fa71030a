package agent

import (
	"slices"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/policy"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// savedVerdict is the part of the probe's latest update that the tenant's
// probe findings and failure attribution are derived from. It is persisted
// with the tenant's health record: without it a restarted daemon derived
// the probe findings from an empty update at its first policy pass, so a
// failing tenant turned healthy (its alert resolved, then fired again at
// the next probe) until the token was probed again, an hour later.
type savedVerdict struct {
	State                probe.State     `json:"state"`
	Time                 time.Time       `json:"time"`
	Outcome              probe.Outcome   `json:"outcome"`
	Diagnosis            probe.Diagnosis `json:"diagnosis"`
	Message              string          `json:"message,omitempty"`
	ConsecutiveTransient int             `json:"consecutiveTransient,omitempty"`
	TransientSince       time.Time       `json:"transientSince,omitzero"`
}

// saveVerdict keeps what a restart needs of u; nil before the first probe.
func saveVerdict(u probe.Update) *savedVerdict {
	if u.Result.Time.IsZero() {
		return nil
	}
	r := u.Result
	return &savedVerdict{
		State: u.State, Time: r.Time, Outcome: r.Outcome, Diagnosis: r.Diagnosis, Message: r.Message,
		ConsecutiveTransient: u.ConsecutiveTransient, TransientSince: u.TransientSince,
	}
}

// update rebuilds the scheduler update the verdict was saved from.
func (v *savedVerdict) update(id, name string, clocks probe.Clocks) probe.Update {
	if v == nil {
		return probe.Update{}
	}
	return probe.Update{
		TenantID: id, Name: name, State: v.State,
		Result: probe.Result{
			TenantID: id, Time: v.Time, Outcome: v.Outcome, Diagnosis: v.Diagnosis, Message: v.Message, Clocks: clocks,
		},
		ConsecutiveTransient: v.ConsecutiveTransient, TransientSince: v.TransientSince,
	}
}

// savedAttribution is keptAttribution as persisted: the sign-in log
// evidence of the first failure outlives a restart, when the dead token
// can no longer read that log.
type savedAttribution struct {
	Attribution policy.Attribution `json:"attribution"`
	Codes       []int              `json:"codes"`
}

func saveAttribution(k *keptAttribution) *savedAttribution {
	if k == nil {
		return nil
	}
	return &savedAttribution{Attribution: k.Attribution, Codes: slices.Clone(k.codes)}
}

func (s *savedAttribution) kept() *keptAttribution {
	if s == nil {
		return nil
	}
	return &keptAttribution{Attribution: s.Attribution, codes: slices.Clone(s.Codes)}
}
