package agent

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/policy"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// enqueueUpdate is the scheduler's OnUpdate hook; it runs on the
// scheduler's goroutine, so it only queues.
func (a *Agent) enqueueUpdate(u probe.Update) { a.updates <- u }

// onIdP is the scheduler's hook for the global condition.
func (a *Agent) onIdP(st probe.IdPStatus) {
	a.mu.Lock()
	a.idp = st
	a.mu.Unlock()
	if st.Unreachable {
		a.m.idpUnreachable.Set(1)
		a.log.Warn("identity provider unreachable: most tenants fail transiently at once", "probed", st.Probed, "transient", st.Transient)
	} else {
		a.m.idpUnreachable.Set(0)
		a.log.Info("identity provider reachable again")
	}
	go a.publishAgentFindings()
}

// consumeUpdates applies probe results to the tenants, one at a time.
func (a *Agent) consumeUpdates(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-a.updates:
			a.applyUpdate(u)
		}
	}
}

func (a *Agent) applyUpdate(u probe.Update) {
	r := u.Result
	a.m.probes.WithLabelValues(string(r.Outcome)).Inc()
	if !r.NotEnrolled && r.Latency > 0 {
		a.m.probeLatency.Observe(r.Latency.Seconds())
	}
	if r.Failed() && !r.NotEnrolled {
		a.m.probeFailures.WithLabelValues(string(r.Diagnosis.Cause)).Inc()
	}
	a.noteLocalFailure(r)
	id := strings.ToLower(u.TenantID)
	backoff := 0.0
	if u.ConsecutiveTransient > 0 && !u.NextProbe.IsZero() {
		backoff = max(0, u.NextProbe.Sub(a.clock.Now()).Seconds())
	}
	a.mu.Lock()
	tr := a.tenants[id]
	if tr == nil { // removed by a reload while the probe ran
		a.mu.Unlock()
		return
	}
	a.m.backoffSeconds.WithLabelValues(id).Set(backoff)
	prev := tr.probeState
	tr.probeState = u.State
	tr.lastProbeAt = r.Time
	tr.enrolled = !r.NotEnrolled
	tr.probed = tr.enrolled
	tr.clocks = r.Clocks
	if r.Outcome == probe.OutcomeOK {
		tr.lastRefresh = r.Time
	}
	tr.lastUpdate = u
	if u.State != probe.StateFailing {
		tr.attribution = nil // a new failure gets its own evidence
	}
	tr.probeFindings = a.probeFindingsLocked(tr)
	fs, rec := a.publishLocked(tr)
	enteredFailing := u.State == probe.StateFailing && prev != probe.StateFailing
	name := tr.cfg.Name // tr is only read under a.mu: a reload rewrites it
	a.mu.Unlock()
	a.publish(id, fs, rec)
	if enteredFailing {
		// Read the sign-in logs now: they name the policy that failed the
		// attempt while our access token may still be valid.
		a.requestPolicyPass(id)
	}
	if u.State != prev {
		a.log.Info("tenant state changed", "tenant", id, "name", name, "from", prev, "to", u.State,
			"cause", r.Diagnosis.Cause)
	}
}

// attributeLocked links the tenant's last definitive failure to policies
// with whatever sign-in logs and evaluations the last policy pass read.
func (a *Agent) attributeLocked(tr *tenantRuntime) *policy.Attribution {
	if tr.probeState != probe.StateFailing {
		return nil
	}
	r := tr.lastUpdate.Result
	d := r.Diagnosis
	f := policy.Failure{At: r.Time, Codes: d.Codes, CorrelationID: d.Values["correlationId"], AppID: tr.cfg.ClientAppID}
	if v, ok := d.Values["maxLifetimeSeconds"]; ok {
		f.MaxLifetimeSeconds = parseInt64(v)
	}
	if v, ok := d.Values["issuedAt"]; ok {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			f.IssuedAt = t
		}
	}
	at := policy.Attribute(f, tr.signIns, tr.evaluations)
	// A dead token cannot read the sign-in log any more, so a later
	// failure of the same kind rarely finds its own entry. The first
	// failure's sign-in evidence still names the policy: keep it.
	if prev := tr.attribution; at.EvidenceSource != policy.EvidenceSignInLog && prev != nil &&
		prev.EvidenceSource == policy.EvidenceSignInLog && slices.Equal(prev.codes, d.Codes) {
		return &prev.Attribution
	}
	if at.EvidenceSource == policy.EvidenceSignInLog {
		tr.attribution = &keptAttribution{Attribution: at, codes: slices.Clone(d.Codes)}
	}
	return &at
}

// keptAttribution is the last attribution made from the sign-in log, with
// the error codes it explained.
type keptAttribution struct {
	policy.Attribution
	codes []int
}

func (a *Agent) requestPolicyPass(id string) {
	select {
	case a.policyCh <- id:
	default: // a pass is queued for many tenants already; the loop catches up
	}
}

// publishAgentFindings sends the agent's own condition (identity provider
// unreachable, state file problems, refused reloads) as the agent
// pseudo-tenant's findings: they inhibit or accompany per-tenant alerts.
func (a *Agent) publishAgentFindings() {
	a.mu.Lock()
	now := a.clock.Now()
	var fs []health.Finding
	if f, ok := a.idp.Finding(); ok {
		f.TenantID = notify.AgentTenantID
		fs = append(fs, f)
	}
	for key, msg := range a.problems {
		fs = append(fs, health.Finding{
			TenantID: notify.AgentTenantID, TenantName: "tokenhealth", Kind: health.KindAgentHealth,
			Severity: health.SeverityWarning, Cause: key, DetectedAt: now, Summary: msg,
			Policies: []health.PolicyRef{{ID: key}},
		})
	}
	a.mu.Unlock()
	health.SortFindings(fs)
	a.notifyTenant(notify.AgentTenantID, fs)
}

// problem records an agent health problem (reported once per key).
func (a *Agent) problem(key, msg string) {
	a.mu.Lock()
	old, had := a.problems[key]
	a.problems[key] = msg
	a.mu.Unlock()
	if !had || old != msg {
		go a.publishAgentFindings()
	}
}

func (a *Agent) clearProblem(key string) {
	a.mu.Lock()
	_, had := a.problems[key]
	delete(a.problems, key)
	a.mu.Unlock()
	if had {
		go a.publishAgentFindings()
	}
}

// maintenanceLoop applies the probe-history retention periodically.
func (a *Agent) maintenanceLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.clock.After(time.Hour):
		}
		if n, err := a.db.ApplyRetention(); err != nil {
			a.log.Error("probe history retention", "err", err)
		} else if n > 0 {
			a.log.Info("probe history retention", "removed", n)
		}
	}
}

// watchdogLoop pings systemd's watchdog only while the main loops make
// progress: a wedged update consumer stops the pings and systemd restarts
// the service.
func (a *Agent) watchdogLoop(ctx context.Context) error {
	every := watchdogInterval()
	if every <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if a.healthy(every) {
			a.sd.watchdog()
			a.sd.status(a.summary())
		}
	}
}

// healthy checks that the update consumer and the state file answer.
func (a *Agent) healthy(within time.Duration) bool {
	done := make(chan struct{})
	go func() {
		a.mu.Lock()
		_ = len(a.tenants) // the lock is free: no loop holds it forever
		a.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(within):
		return false
	}
	return len(a.updates) < cap(a.updates)
}

// noteLocalFailure turns a probe that failed on this side (the state file
// cannot be written: disk full, permissions) into an agent health problem,
// cleared by the next probe that records cleanly. Such a failure says
// nothing about the tenant's token, so it never changes a tenant's state.
func (a *Agent) noteLocalFailure(r probe.Result) {
	switch {
	case r.RecordErr != nil:
		a.problem("probe-record", "probe results cannot be written to the state file "+a.db.Path()+": "+r.RecordErr.Error())
	case r.Local:
		a.problem("probe-record", "probes fail on this host, not at the identity provider: "+r.Message)
	case !r.NotEnrolled && !r.Abandoned:
		a.clearProblem("probe-record")
	}
}
