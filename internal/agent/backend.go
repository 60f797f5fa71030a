package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/policy"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

var _ localapi.Backend = (*Agent)(nil)

func metricsHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

// Status is every tenant's health, worst first, and the agent's own.
func (a *Agent) Status(context.Context) localapi.StatusResponse {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	out := localapi.StatusResponse{Tenants: make([]health.TenantStatus, 0, len(a.tenants))}
	for _, id := range a.order {
		if tr := a.tenants[id]; tr != nil {
			out.Tenants = append(out.Tenants, a.rebuildLocked(tr, now))
		}
	}
	sortStatuses(out.Tenants)
	out.Agent = localapi.AgentStatus{
		Version: a.opts.Version, StartedAt: a.startedAt, ConfigFile: a.cfg.File,
		ConfigLoadedAt: a.cfgLoadedAt, ConfigError: a.cfgErr, IdPUnreachable: a.idp.Unreachable,
		Problems: []string{},
	}
	for _, p := range a.problems {
		out.Agent.Problems = append(out.Agent.Problems, p)
	}
	return out
}

// sortStatuses puts failing tenants first, then unreachable, warning,
// pending and healthy; inside a state the earliest predicted break first.
func sortStatuses(ts []health.TenantStatus) {
	rank := map[health.State]int{}
	for i, s := range health.States {
		rank[s] = i
	}
	less := func(x, y health.TenantStatus) bool {
		if rank[x.State] != rank[y.State] {
			return rank[x.State] < rank[y.State]
		}
		if !x.PredictedBreak.Equal(y.PredictedBreak) {
			if x.PredictedBreak.IsZero() || y.PredictedBreak.IsZero() {
				return !x.PredictedBreak.IsZero()
			}
			return x.PredictedBreak.Before(y.PredictedBreak)
		}
		return x.Name < y.Name
	}
	for i := 1; i < len(ts); i++ { // insertion sort: stable and small
		for j := i; j > 0 && less(ts[j], ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// lookup finds a tenant by id or by exact name (case-insensitive).
func (a *Agent) lookupLocked(key string) (string, *tenantRuntime, error) {
	k := strings.ToLower(strings.TrimSpace(key))
	if tr := a.tenants[k]; tr != nil {
		return k, tr, nil
	}
	for id, tr := range a.tenants {
		if strings.EqualFold(tr.cfg.Name, key) {
			return id, tr, nil
		}
	}
	return "", nil, fmt.Errorf("tenant %q is not in the configuration: %w", key, localapi.ErrNotFound)
}

// Explain is the full story of one tenant.
func (a *Agent) Explain(_ context.Context, key string) (localapi.Explanation, error) {
	a.mu.Lock()
	id, tr, err := a.lookupLocked(key)
	if err != nil {
		a.mu.Unlock()
		return localapi.Explanation{}, err
	}
	now := a.clock.Now()
	ex := localapi.Explanation{
		Tenant: a.rebuildLocked(tr, now), ServiceUPN: tr.cfg.ServiceAccount, Tags: append([]string{}, tr.cfg.Tags...),
		PoliciesAt: tr.policyReadAt, Clocks: []localapi.Clock{}, Remediation: []string{},
	}
	c := tr.clocks
	for _, cp := range tr.forecast.Clocks {
		lc := localapi.Clock{Name: string(cp.Clock), Deadline: cp.At, Source: cp.Session, Note: strings.Join(cp.Evidence, "; ")}
		if cp.Policy != nil {
			lc.Note = fmt.Sprintf("policy %q: %s", cp.Policy.DisplayName, lc.Note)
		}
		switch cp.Clock {
		case policy.ClockSignInFrequency, policy.ClockRememberMFA:
			lc.Start, lc.Source = c.InteractiveSignIn, c.InteractiveSignInSource
		case policy.ClockInactivity:
			lc.Start, lc.Source = c.LastRedemption, "last redemption"
		case policy.ClockPasswordExpiry:
			lc.Start, lc.Source = tr.account.LastPasswordChange, "lastPasswordChangeDateTime"
		}
		ex.Clocks = append(ex.Clocks, lc)
	}
	if len(ex.Clocks) == 0 && !c.InteractiveSignIn.IsZero() {
		ex.Clocks = append(ex.Clocks,
			localapi.Clock{Name: "sign_in_frequency", Start: c.InteractiveSignIn, Source: c.InteractiveSignInSource, Note: "no policy read yet"},
			localapi.Clock{Name: "inactivity", Start: c.LastRedemption, Deadline: c.LastRedemption.Add(90 * 24 * time.Hour), Source: "last redemption"})
	}
	seen := map[string]bool{}
	for _, f := range ex.Tenant.Findings {
		for _, r := range f.Remediation {
			if !seen[r] {
				seen[r] = true
				ex.Remediation = append(ex.Remediation, r)
			}
		}
	}
	a.mu.Unlock()

	if e, found, err := probe.LoadEnrollment(a.db, id); err == nil && found {
		ex.Enrollment = &localapi.Enrollment{
			At: e.EnrolledAt, Method: string(e.Method), ClientType: string(e.ClientType), Account: e.Username,
			TokenHasMFA: e.TokenHasMFA, InteractiveSignIn: e.InteractiveSignIn, SignInSource: e.InteractiveSignInSource,
		}
	}
	hist, err := a.History(context.Background(), id, 20)
	if err != nil {
		return ex, err
	}
	ex.Timeline = hist.Probes
	return ex, nil
}

// History is the tenant's recent probe attempts, newest first.
func (a *Agent) History(_ context.Context, key string, limit int) (localapi.HistoryResponse, error) {
	a.mu.Lock()
	id, _, err := a.lookupLocked(key)
	a.mu.Unlock()
	if err != nil {
		return localapi.HistoryResponse{}, err
	}
	atts, err := a.db.ProbeHistory(id, limit)
	if err != nil {
		return localapi.HistoryResponse{}, err
	}
	out := localapi.HistoryResponse{TenantID: id, Probes: make([]localapi.ProbeEvent, 0, len(atts))}
	for _, at := range atts {
		out.Probes = append(out.Probes, probeEvent(at))
	}
	return out, nil
}

func probeEvent(at store.ProbeAttempt) localapi.ProbeEvent {
	codes := at.Codes
	if codes == nil {
		codes = []int{}
	}
	return localapi.ProbeEvent{
		Time: at.Time, Outcome: at.Outcome, LatencyMS: at.LatencyMS, Codes: codes, Cause: at.Cause,
		Error: at.Error, SubError: at.SubError, TraceID: at.TraceID, CorrelationID: at.CorrelationID,
		Values: at.Values, Message: at.Message,
	}
}

// Policies is the evaluation of the tenant's live policies from the last pass.
func (a *Agent) Policies(_ context.Context, key string) (localapi.PoliciesResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id, tr, err := a.lookupLocked(key)
	if err != nil {
		return localapi.PoliciesResponse{}, err
	}
	out := localapi.PoliciesResponse{TenantID: id, ReadAt: tr.policyReadAt, Policies: []localapi.PolicyEvaluation{},
		Problems: append([]string{}, tr.policyProblems...)}
	evs := append([]policy.Evaluation(nil), tr.evaluations...)
	policy.SortByImpact(evs)
	for _, ev := range evs {
		out.Policies = append(out.Policies, policyEvaluation(ev))
	}
	return out, nil
}

// Check probes the tenant now and returns the attempt and the new status.
func (a *Agent) Check(ctx context.Context, key string) (localapi.CheckResponse, error) {
	a.mu.Lock()
	id, tr, err := a.lookupLocked(key)
	var target probe.Target
	if err == nil {
		target = tr.target
	}
	a.mu.Unlock()
	if err != nil {
		return localapi.CheckResponse{}, err
	}
	before, _ := a.db.ProbeHistory(id, 1)
	if !a.sched.ProbeNow(id) {
		// Not scheduled (not enrolled): run the attempt directly so the
		// operator sees why.
		r := a.prober.Probe(ctx, target)
		return localapi.CheckResponse{Probe: localapi.ProbeEvent{Time: r.Time, Outcome: string(r.Outcome), Message: r.Message, Codes: []int{}}}, nil
	}
	pe, st, err := a.waitForProbe(ctx, id, before)
	if err != nil {
		return localapi.CheckResponse{}, err
	}
	return localapi.CheckResponse{Probe: pe, Tenant: st}, nil
}

// waitForProbe waits until an attempt newer than before is recorded for the
// tenant and the agent has applied it, and returns both.
func (a *Agent) waitForProbe(ctx context.Context, id string, before []store.ProbeAttempt) (localapi.ProbeEvent, health.TenantStatus, error) {
	deadline := time.Now().Add(2 * time.Minute)
	var applyBy time.Time // set once the attempt is recorded
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return localapi.ProbeEvent{}, health.TenantStatus{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		after, err := a.db.ProbeHistory(id, 1)
		if err != nil {
			return localapi.ProbeEvent{}, health.TenantStatus{}, err
		}
		if len(after) == 0 || (len(before) == 1 && !after[0].Time.After(before[0].Time)) {
			continue
		}
		if applyBy.IsZero() {
			applyBy = time.Now().Add(2 * time.Second)
		}
		a.mu.Lock()
		tr := a.tenants[id]
		// The verdict reaches the tenant through the update queue just
		// after the attempt is recorded: wait for it briefly so the status
		// shown matches the probe shown.
		if tr != nil && tr.lastProbeAt.Before(after[0].Time) && time.Now().Before(applyBy) {
			a.mu.Unlock()
			continue
		}
		var st health.TenantStatus
		if tr != nil {
			st = a.rebuildLocked(tr, a.clock.Now())
		}
		a.mu.Unlock()
		return probeEvent(after[0]), st, nil
	}
	return localapi.ProbeEvent{}, health.TenantStatus{}, fmt.Errorf("the probe of %s did not finish within 2 minutes", id)
}

// Backup writes a consistent copy of the state file while running.
func (a *Agent) Backup(_ context.Context, path string) error {
	if path == "" {
		return fmt.Errorf("%w: backup path is empty", localapi.ErrBadRequest)
	}
	return a.db.Backup(path)
}

func policyEvaluation(ev policy.Evaluation) localapi.PolicyEvaluation {
	pe := localapi.PolicyEvaluation{
		ID: ev.Policy.ID, DisplayName: ev.Policy.DisplayName, State: ev.Policy.State, Reasons: append([]string{}, ev.Reasons...),
		Impact: string(ev.Impact), SignInFrequencySeconds: ev.SignInFrequencySeconds, Remediation: strings.Join(ev.Remediation, "\n"),
	}
	switch ev.Applies {
	case policy.True:
		t := true
		pe.Applies = &t
	case policy.False:
		f := false
		pe.Applies = &f
	}
	return pe
}

func (a *Agent) silences() *notify.SilenceDB { return &notify.SilenceDB{DB: a.db, Clock: a.clock} }

// Silences lists the active silences.
func (a *Agent) Silences(ctx context.Context) ([]localapi.Silence, error) {
	return a.silences().ListSilences(ctx)
}

// AddSilence mutes a tenant's alerts; the author is the socket peer.
func (a *Agent) AddSilence(ctx context.Context, req localapi.SilenceRequest, author string) (localapi.Silence, error) {
	a.mu.Lock()
	id, _, err := a.lookupLocked(req.TenantID)
	a.mu.Unlock()
	if err != nil {
		return localapi.Silence{}, err
	}
	s, err := a.silences().AddSilence(ctx, notify.SilenceRequest{
		TenantID: id, Kind: health.Kind(req.Kind), For: req.Duration, Reason: req.Reason, Author: author,
	})
	if err != nil {
		return localapi.Silence{}, fmt.Errorf("%w: %v", localapi.ErrBadRequest, err)
	}
	a.kickNotifier()
	return s, nil
}

// RemoveSilence ends a silence now.
func (a *Agent) RemoveSilence(ctx context.Context, id string) error {
	err := a.silences().RemoveSilence(ctx, id)
	if errors.Is(err, notify.ErrSilenceNotFound) {
		return fmt.Errorf("%w: %v", localapi.ErrNotFound, err)
	}
	a.kickNotifier()
	return err
}

// kickNotifier re-checks alerts now (a silence changed).
func (a *Agent) kickNotifier() {
	a.mu.Lock()
	n := a.notifier
	a.mu.Unlock()
	if n != nil {
		if err := n.Tick(); err != nil {
			a.log.Error("re-checking alerts", "err", err)
		}
	}
}

// Progress counts the tenants probed at least once and those whose
// policies were read at least once (the demo's --once waits for both).
func (a *Agent) Progress() (probed, policiesRead, total int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, tr := range a.tenants {
		total++
		if tr.probed || !tr.lastProbeAt.IsZero() {
			probed++
		}
		if !tr.policyReadAt.IsZero() || len(tr.policyProblems) > 0 {
			policiesRead++
		}
	}
	return probed, policiesRead, total
}

// Now is the agent's clock (virtual in the demo).
func (a *Agent) Now() time.Time { return a.clock.Now() }
