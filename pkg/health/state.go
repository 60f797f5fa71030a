package health

import (
	"sort"
	"time"
)

// State is a tenant's overall condition. The same five words appear in the
// CLI, the local API, metrics, logs and alerts.
type State string

const (
	// StatePending: not enrolled, or enrolled but not yet probed.
	StatePending State = "pending"
	// StateHealthy: the token refreshes and nothing predicts a break inside
	// the warning lead time.
	StateHealthy State = "healthy"
	// StateWarning: a predicted break inside the lead time, or a policy risk.
	StateWarning State = "warning"
	// StateFailing: the token no longer refreshes (a definitive failure).
	StateFailing State = "failing"
	// StateUnreachable: transient failures past the debounce.
	StateUnreachable State = "unreachable"
)

// States lists every state in display order, worst first.
var States = []State{StateFailing, StateUnreachable, StateWarning, StatePending, StateHealthy}

// TenantStatus is the rendered health of one tenant. Its JSON form is the
// stable `status --json` schema: add fields, never rename or remove them.
type TenantStatus struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	State          State       `json:"state"`
	Enrolled       bool        `json:"enrolled"`
	LastRefresh    time.Time   `json:"lastRefresh,omitzero"` // last successful redemption
	LastProbe      time.Time   `json:"lastProbe,omitzero"`
	PredictedBreak time.Time   `json:"predictedBreak,omitzero"`
	Cause          string      `json:"cause,omitempty"`
	Summary        string      `json:"summary,omitempty"`
	Policies       []PolicyRef `json:"policies"`
	Findings       []Finding   `json:"findings"`
}

// ProbeView is what the health model needs to know from the probe.
type ProbeView struct {
	Enrolled    bool
	Probed      bool
	LastRefresh time.Time
	LastProbe   time.Time
}

// Build derives a tenant's status from the probe's view and the current
// findings of every producer. It is the only place that decides a state.
func Build(id, name string, pv ProbeView, findings []Finding) TenantStatus {
	fs := append([]Finding(nil), findings...)
	SortFindings(fs)
	st := TenantStatus{
		ID: id, Name: name, Enrolled: pv.Enrolled,
		LastRefresh: pv.LastRefresh, LastProbe: pv.LastProbe,
		Policies: []PolicyRef{}, Findings: fs,
	}
	if st.Findings == nil {
		st.Findings = []Finding{}
	}
	st.State = deriveState(pv, fs)
	for _, f := range fs {
		if !f.PredictedAt.IsZero() && (st.PredictedBreak.IsZero() || f.PredictedAt.Before(st.PredictedBreak)) {
			st.PredictedBreak = f.PredictedAt
		}
	}
	if lead := leadingFinding(st.State, fs); lead != nil {
		st.Cause = lead.Cause
		if st.Cause == "" {
			st.Cause = string(lead.Kind)
		}
		st.Summary = lead.Summary
		st.Policies = append(st.Policies, lead.Policies...)
	}
	return st
}

func deriveState(pv ProbeView, fs []Finding) State {
	has := func(k Kind) bool {
		for _, f := range fs {
			if f.Kind == k {
				return true
			}
		}
		return false
	}
	switch {
	case has(KindTokenFailing):
		return StateFailing
	case has(KindTenantUnreachable):
		return StateUnreachable
	case !pv.Enrolled || !pv.Probed:
		return StatePending
	}
	for _, f := range fs {
		if f.Severity.Rank() >= SeverityWarning.Rank() {
			return StateWarning
		}
	}
	return StateHealthy
}

// leadingFinding picks the finding that explains the state.
func leadingFinding(s State, fs []Finding) *Finding {
	want := map[State]Kind{StateFailing: KindTokenFailing, StateUnreachable: KindTenantUnreachable}
	if k, ok := want[s]; ok {
		for i := range fs {
			if fs[i].Kind == k {
				return &fs[i]
			}
		}
	}
	if len(fs) > 0 && fs[0].Severity.Rank() >= SeverityWarning.Rank() {
		return &fs[0]
	}
	return nil
}

// SortFindings orders findings worst first, then by the earliest predicted
// break, then by key so the order is stable across runs.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if !a.PredictedAt.Equal(b.PredictedAt) {
			if a.PredictedAt.IsZero() || b.PredictedAt.IsZero() {
				return !a.PredictedAt.IsZero()
			}
			return a.PredictedAt.Before(b.PredictedAt)
		}
		return a.Key() < b.Key()
	})
}

// ExitCode maps a set of tenant states to the `status` exit status used by
// monitoring: 0 all healthy (or pending), 1 any warning or unreachable, 2
// any failing.
func ExitCode(states []State) int {
	code := 0
	for _, s := range states {
		switch s {
		case StateFailing:
			return 2
		case StateWarning, StateUnreachable:
			code = 1
		}
	}
	return code
}
