package agent

import (
	"sort"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/graph"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// healthRecord is what the agent persists per tenant so that a restart
// does not forget a verdict: a failing tenant stays failing until a probe
// says otherwise, and its open alerts are neither lost nor repeated.
type healthRecord struct {
	ProbeState     probe.State      `json:"probeState"`
	Probed         bool             `json:"probed"`
	LastRefresh    time.Time        `json:"lastRefresh,omitzero"`
	LastProbe      time.Time        `json:"lastProbe,omitzero"`
	ProbeFindings  []health.Finding `json:"probeFindings"`
	PolicyFindings []health.Finding `json:"policyFindings"`
	PolicyReadAt   time.Time        `json:"policyReadAt,omitzero"`
	// LastVerdict and Attribution let a restart derive the same probe
	// findings again (verdict.go).
	LastVerdict *savedVerdict     `json:"lastVerdict,omitempty"`
	Attribution *savedAttribution `json:"attribution,omitempty"`
}

func healthKey(id string) string { return id + "/health" }

// applyTenantsLocked makes the runtime tenant set match cfg: new tenants
// are loaded from the state file, changed ones keep their state, removed
// ones are forgotten (their alerts resolve).
func (a *Agent) applyTenantsLocked(cfg *config.Config) (removed []string) {
	want := map[string]config.Tenant{}
	for _, t := range cfg.Tenants {
		want[strings.ToLower(t.ID)] = t
	}
	for id := range a.tenants {
		if _, ok := want[id]; !ok {
			delete(a.tenants, id)
			a.prober.Forget(id)
			a.m.forgetTenant(id)
			removed = append(removed, id)
		}
	}
	specs := make([]probe.Spec, 0, len(want))
	now := a.clock.Now()
	for id, t := range want {
		tr := a.tenants[id]
		if tr == nil {
			tr = &tenantRuntime{}
			a.loadTenantLocked(id, tr, now)
			a.tenants[id] = tr
		}
		if tr.cfg.ID != "" && (tr.cfg.ClientAppID != t.ClientAppID || tr.cfg.ClientType != t.ClientType) {
			tr.reader = nil // the token source changed
		}
		tr.cfg = t
		tr.target = probe.TargetFor(&cfg.Global, &t)
		specs = append(specs, probe.Spec{Target: tr.target, Interval: t.ProbeInterval.D()})
		a.rebuildLocked(tr, now)
	}
	a.order = a.order[:0]
	for id := range a.tenants {
		a.order = append(a.order, id)
	}
	sort.Strings(a.order)
	a.publishLookupLocked()
	if stored, err := probe.WithStoredStates(a.db, specs); err != nil {
		a.log.Error("reading stored probe states", "err", err)
	} else {
		specs = stored
	}
	a.sched.Set(specs)
	a.m.tenants.Set(float64(len(a.tenants)))
	return removed
}

// loadTenantLocked restores a tenant's enrollment and last verdict.
func (a *Agent) loadTenantLocked(id string, tr *tenantRuntime, now time.Time) {
	if _, found, err := probe.LoadEnrollment(a.db, id); err != nil {
		a.log.Error("reading enrollment", "tenant", id, "err", err)
	} else {
		tr.enrolled = found
	}
	if c, err := probe.LoadClocks(a.db, id); err == nil {
		tr.clocks = c
	}
	var rec healthRecord
	found, err := a.db.GetJSON(store.BucketTenants, healthKey(id), &rec)
	if err != nil {
		a.log.Error("reading tenant health", "tenant", id, "err", err)
		return
	}
	if found {
		tr.probeState, tr.probed = rec.ProbeState, rec.Probed
		tr.lastRefresh = rec.LastRefresh
		tr.lastProbeAt = rec.LastProbe
		tr.probeFindings, tr.policyFindings = rec.ProbeFindings, rec.PolicyFindings
		tr.policyReadAt = rec.PolicyReadAt
		tr.lastUpdate = rec.LastVerdict.update(id, tr.cfg.Name, tr.clocks)
		tr.attribution = rec.Attribution.kept()
	}
	tr.policyDue = now // read policies soon after start
}

// recordLocked is the tenant's verdict as persisted.
func recordLocked(tr *tenantRuntime) healthRecord {
	return healthRecord{
		ProbeState: tr.probeState, Probed: tr.probed, LastRefresh: tr.lastRefresh, LastProbe: tr.lastProbeAt,
		ProbeFindings: tr.probeFindings, PolicyFindings: tr.policyFindings, PolicyReadAt: tr.policyReadAt,
		LastVerdict: saveVerdict(tr.lastUpdate), Attribution: saveAttribution(tr.attribution),
	}
}

// persist writes the tenant's verdict so a restart resumes from it. It
// shares a commit with concurrent writers (probe history, other tenants),
// so thousands of tenants do not cost one fsync each.
func (a *Agent) persist(id string, rec healthRecord) {
	err := a.db.Batch(func(tx *store.Tx) error { return tx.PutJSON(store.BucketTenants, healthKey(id), rec) })
	if err != nil {
		a.problem("state-write", "cannot write the state file "+a.db.Path()+": "+err.Error())
		a.log.Error("persisting tenant health", "tenant", id, "err", err)
		return
	}
	a.clearProblem("state-write")
}

// publishLocked rebuilds a tenant's status and updates its metrics. The
// caller persists the record and notifies outside the lock (publish).
func (a *Agent) publishLocked(tr *tenantRuntime) ([]health.Finding, healthRecord) {
	now := a.clock.Now()
	st := a.rebuildLocked(tr, now)
	a.m.setTenant(st, st.PredictedBreak.Sub(now).Seconds(), !st.PredictedBreak.IsZero())
	return st.Findings, recordLocked(tr)
}

// publish persists and notifies what publishLocked produced.
func (a *Agent) publish(id string, fs []health.Finding, rec healthRecord) {
	a.persist(id, rec)
	a.notifyTenant(id, fs)
}

// notifyTenant hands a tenant's current findings to the notifier.
func (a *Agent) notifyTenant(id string, fs []health.Finding) {
	a.mu.Lock()
	n := a.notifier
	a.mu.Unlock()
	if n == nil {
		return
	}
	if err := n.Evaluate(id, fs); err != nil {
		a.log.Error("queueing alerts", "tenant", id, "err", err)
	}
}

// readerLocked returns the tenant's Graph reader, creating it when there
// is none. It is kept while a pass uses it or its throttling budget has
// not refilled (releaseIdleReaderLocked), so the budget persists exactly as
// long as it constrains anything.
func (a *Agent) readerLocked(tr *tenantRuntime) (*graph.Reader, error) {
	if tr.reader != nil {
		return tr.reader, nil
	}
	r, err := a.readerFor(a.cfg.Global, tr)
	if err != nil {
		return nil, err
	}
	tr.reader = r
	return r, nil
}
