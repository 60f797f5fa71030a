package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/graph"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/policy"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// policyWorkers bounds concurrent policy passes. Graph throttles per
// tenant, so more workers only help with many tenants; the per-tenant
// budget keeps each one under the published limits.
const policyWorkers = 4

// signInLookback is how far back the first pass reads sign-in logs.
const signInLookback = 7 * 24 * time.Hour

// driftKeep is how long a drift finding stays after the change was seen.
const driftKeep = 24 * time.Hour

// policyLoop runs each tenant's policy pass every policy_refresh_interval
// and on request (a tenant just started failing).
func (a *Agent) policyLoop(ctx context.Context) error {
	work := make(chan string)
	var wg sync.WaitGroup
	for range policyWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				a.policyPass(ctx, id)
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	queued := map[string]bool{}
	send := func(id string) bool {
		select {
		case work <- id:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		for _, id := range a.duePolicyPasses(queued) {
			if !send(id) {
				return nil
			}
		}
		clear(queued)
		select {
		case <-ctx.Done():
			return nil
		case id := <-a.policyCh:
			queued[id] = true
			if !send(id) {
				return nil
			}
		case <-a.clock.After(a.policyTick()):
		}
	}
}

// policyTick is how often the loop looks for due tenants.
func (a *Agent) policyTick() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return min(a.cfg.Global.PolicyRefreshInterval.D()/4, time.Minute)
}

// duePolicyPasses returns enrolled tenants whose pass is due, and marks
// them not due until the next interval.
func (a *Agent) duePolicyPasses(skip map[string]bool) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	var due []string
	for _, id := range a.order {
		tr := a.tenants[id]
		if tr != nil {
			releaseIdleReaderLocked(tr)
		}
		if tr == nil || !tr.enrolled || skip[id] || now.Before(tr.policyDue) {
			continue
		}
		tr.policyDue = now.Add(tr.cfg.PolicyRefreshInterval.D())
		due = append(due, id)
	}
	return due
}

// releaseIdleReaderLocked drops the tenant's Graph reader between passes
// once no pass uses it and its budget has refilled (no 429 backoff
// pending): the next pass builds a fresh one with the same full budget.
// A reader holds the msgraph-sdk-go client and its cached access token,
// several kilobytes per tenant, while a tenant is read once per policy
// interval.
func releaseIdleReaderLocked(tr *tenantRuntime) {
	if tr.reader != nil && tr.readerUsers == 0 && tr.reader.Budget().Idle() {
		tr.reader = nil
	}
}

// tenantRead is everything one pass read from Graph.
type tenantRead struct {
	policies, locations []json.RawMessage
	policiesRead        bool // the policies were read (an empty list is a result)
	user                graph.User
	groups, roles       []string
	validityDays        int
	perUserMFA          string
	signIns             []policy.SignIn
	problems            []*graph.Error
	// Which reads succeeded: a failed one keeps the last known value
	// (lastknown.go), it does not become "none" or a default.
	userRead, membershipsRead, validityRead, perUserMFARead bool
}

// policyPass reads the tenant through Graph, evaluates its policies for
// the service account and replaces the tenant's policy findings.
func (a *Agent) policyPass(ctx context.Context, id string) {
	a.mu.Lock()
	tr := a.tenants[id]
	if tr == nil || !tr.enrolled {
		a.mu.Unlock()
		return
	}
	reader, err := a.readerLocked(tr)
	cfg, clocks, since, prevSignIns, prevSubject := tr.cfg, tr.clocks, tr.policyReadAt, tr.signIns, tr.subject
	if err == nil {
		tr.readerUsers++
	}
	a.mu.Unlock()
	if err != nil {
		a.log.Error("building the Graph reader", "tenant", id, "err", err)
		return
	}
	defer func() {
		a.mu.Lock()
		tr.readerUsers--
		a.mu.Unlock()
	}()
	now := a.clock.Now()
	if since.IsZero() {
		since = now.Add(-signInLookback)
	}
	rd := a.read(ctx, reader, cfg.ServiceAccount, cfg.ClientAppID, cfg.PlatformAppID, since.Add(-5*time.Minute))
	if ctx.Err() != nil {
		return
	}
	// Everything that needs the network or the state file happens here,
	// before the agent's lock is taken.
	signIns := mergeSignIns(prevSignIns, rd.signIns, now.Add(-signInLookback))
	groups, roles := rd.membershipsOrLastKnown(prevSubject)
	subj := policy.Subject{
		UserID: rd.user.ID, UPN: cfg.ServiceAccount, GroupIDs: groups, RoleTemplateIDs: roles,
		ClientAppID: cfg.ClientAppID, AuthFlow: string(clocks.AuthFlow), TokenHasMFA: clocks.TokenHasMFA,
		IP: egressIP(signIns, cfg.ClientAppID),
	}
	var loaded policy.Loaded
	var locs []policy.NamedLocation
	var prevSnapshot []policy.Policy
	var evals []policy.Evaluation
	var whatIf []health.Finding
	graphOK := rd.policiesRead
	if graphOK {
		loaded = policy.LoadBytes("graph:"+id, listJSON(rd.policies))
		locs = policy.LoadBytes("graph:"+id+":namedLocations", listJSON(rd.locations)).Locations
		evals = policy.Evaluate(loaded.Policies, locs, subj)
		whatIf = a.secondOpinion(ctx, reader, cfg.ID, cfg.Name, subj, evals, now)
		prevSnapshot = a.loadSnapshot(id)
		defer a.saveSnapshot(id, rd.policies) // after the lock below is released
	}

	a.mu.Lock()
	defer func() {
		fs, rec := a.publishLocked(tr)
		a.mu.Unlock()
		a.publish(id, fs, rec)
	}()
	if a.tenants[id] != tr { // removed during the pass
		return
	}
	tr.signIns = signIns
	if graphOK {
		tr.evaluations = evals
		tr.subject = subj
		tr.policyReadAt = now
		tr.driftFindings = driftFindings(tr, prevSnapshot, loaded.Policies, locs, subj, now)
	}
	tr.account = rd.accountOrLastKnown(cfg.ServiceAccount, tr.account)
	tr.forecast = policy.Predict(policy.PredictInput{
		TenantID: cfg.ID, TenantName: cfg.Name, Account: tr.account,
		Clocks:          policyClocks(clocks, platformLastInteractive(tr.signIns, cfg.PlatformAppID)),
		RememberMFADays: cfg.RememberMFADays, Evaluations: tr.evaluations, Now: now,
		CanaryKeptAlive: tr.enrolled, // the schedule redeems it long before 90 days pass
	})
	tr.policyProblems = tr.policyProblems[:0]
	for _, s := range loaded.Skipped {
		tr.policyProblems = append(tr.policyProblems, s.String())
	}
	fs := append([]health.Finding(nil), tr.forecast.Findings...)
	fs = append(fs, tr.driftFindings...)
	fs = append(fs, whatIf...)
	fs = append(fs, graphAccessFindings(cfg.ID, cfg.Name, rd.problems, now)...)
	for _, p := range rd.problems {
		tr.policyProblems = append(tr.policyProblems, p.Error())
		if p.Throttled {
			a.m.graphThrottled.WithLabelValues(p.Op).Inc()
		}
		a.m.graphErrors.WithLabelValues(p.Op).Inc()
	}
	tr.policyFindings = fs
	if tr.probeState == probe.StateFailing { // re-attribute with fresh logs
		tr.probeFindings = a.probeFindingsLocked(tr)
	}
	a.m.lastCycleSecond.Set(float64(now.Unix()))
}

// read performs the Graph reads of one pass. A failed read is recorded and
// the pass goes on with what it has: a missing sign-in log licence must
// not hide a sign-in frequency policy.
func (a *Agent) read(ctx context.Context, r *graph.Reader, upn, clientApp, platformApp string, since time.Time) tenantRead {
	var rd tenantRead
	note := func(err error) {
		var ge *graph.Error
		if errors.As(err, &ge) {
			rd.problems = append(rd.problems, ge)
		} else if err != nil {
			rd.problems = append(rd.problems, &graph.Error{Op: "read", Err: err})
		}
	}
	var err error
	if rd.user, err = r.User(ctx, upn); err != nil {
		note(err)
		return rd // without the account nothing below can be asked
	}
	rd.userRead = true
	if rd.policies, err = r.Policies(ctx); err != nil {
		note(err)
	} else {
		rd.policiesRead = true
	}
	if rd.locations, err = r.NamedLocations(ctx); err != nil {
		note(err)
	}
	if rd.groups, rd.roles, err = r.Memberships(ctx, rd.user.ID); err != nil {
		note(err)
		rd.groups, rd.roles = nil, nil // unknown, not "none"
	} else {
		rd.membershipsRead = true
	}
	if days, err := r.PasswordValidityDays(ctx); err != nil {
		note(err)
	} else {
		rd.validityDays, rd.validityRead = days[domainOf(upn)], true
	}
	if rd.perUserMFA, err = r.PerUserMFAState(ctx, rd.user.ID); err != nil {
		note(err)
	} else {
		rd.perUserMFARead = true
	}
	for _, q := range []graph.SignInQuery{
		{UserID: rd.user.ID, Since: since},                       // interactive: the platform's own sign-ins
		{UserID: rd.user.ID, Since: since, NonInteractive: true}, // refreshes, ours and the platform's
	} {
		raw, err := r.SignIns(ctx, q)
		if err != nil {
			note(err)
			continue
		}
		if len(raw) == 0 {
			continue
		}
		sis, err := policy.LoadSignIns(listJSON(raw))
		if err != nil {
			note(fmt.Errorf("decoding sign-in logs: %w", err))
			continue
		}
		rd.signIns = append(rd.signIns, sis...)
	}
	return rd
}

// driftFindings compares the policies with the previous snapshot (nil on
// the first pass) and keeps drift findings for driftKeep after the change
// was seen.
func driftFindings(tr *tenantRuntime, prev, current []policy.Policy, locs []policy.NamedLocation, subj policy.Subject, now time.Time) []health.Finding {
	var kept []health.Finding
	for _, f := range tr.driftFindings {
		if now.Sub(f.DetectedAt) < driftKeep {
			kept = append(kept, f)
		}
	}
	if prev == nil {
		return kept
	}
	for _, f := range policy.Drift(policy.DriftInput{TenantID: tr.cfg.ID, TenantName: tr.cfg.Name,
		Previous: prev, Current: current, Locations: locs, Subject: subj, Now: now}) {
		kept = replaceByKey(kept, f)
	}
	return kept
}

// loadSnapshot reads the policies stored by the previous pass (nil when
// there was none).
func (a *Agent) loadSnapshot(id string) []policy.Policy {
	var raw []json.RawMessage
	found, err := a.db.GetJSON(store.BucketPolicies, id, &raw)
	if err != nil {
		a.log.Error("reading the policy snapshot", "tenant", id, "err", err)
	}
	if !found {
		return nil
	}
	return append([]policy.Policy{}, policy.LoadBytes("snapshot:"+id, listJSON(raw)).Policies...)
}

// saveSnapshot stores the policies as Graph returned them, for the next
// pass's drift comparison.
func (a *Agent) saveSnapshot(id string, raw []json.RawMessage) {
	if err := a.db.PutJSON(store.BucketPolicies, id, raw); err != nil {
		a.log.Error("storing the policy snapshot", "tenant", id, "err", err)
	}
}

func replaceByKey(fs []health.Finding, f health.Finding) []health.Finding {
	for i := range fs {
		if fs[i].Key() == f.Key() {
			fs[i] = f
			return fs
		}
	}
	return append(fs, f)
}

// graphAccessFindings turns Graph failures that an administrator must fix
// (missing permission or licence) into findings; throttling and outages
// are retried by the next pass and are not findings.
func graphAccessFindings(tenantID, name string, problems []*graph.Error, now time.Time) []health.Finding {
	var out []health.Finding
	seen := map[string]bool{}
	for _, p := range problems {
		if p.MissingPermission == "" && !p.MissingLicence {
			continue
		}
		key := p.Op
		if seen[key] {
			continue
		}
		seen[key] = true
		fix := "grant the delegated permission " + p.MissingPermission + " to the platform's app and consent it"
		if p.MissingLicence {
			fix = "the tenant needs a Microsoft Entra ID P1 licence for this read (" + p.Op + ")"
		}
		out = append(out, health.Finding{
			TenantID: tenantID, TenantName: name, Kind: health.KindGraphAccess, Severity: health.SeverityWarning,
			Cause: "graph_access", DetectedAt: now, Summary: "tokenhealth cannot " + p.Op + ": " + p.Error(),
			Policies: []health.PolicyRef{{ID: p.Op}}, Remediation: []string{fix},
		})
	}
	return out
}

func policyClocks(c probe.Clocks, platformLast time.Time) policy.Clocks {
	return policy.Clocks{
		InteractiveSignIn: c.InteractiveSignIn, InteractiveSignInSource: c.InteractiveSignInSource,
		LastRedemption: c.LastRedemption, ClientType: string(c.ClientType), AuthFlow: string(c.AuthFlow),
		TokenHasMFA: c.TokenHasMFA, PlatformLastInteractive: platformLast,
	}
}

// platformLastInteractive is the platform's own latest successful
// interactive sign-in: the start of its sign-in-frequency clock.
func platformLastInteractive(sis []policy.SignIn, appID string) time.Time {
	var last time.Time
	for _, s := range sis {
		if s.IsInteractive && s.Status.ErrorCode == 0 && strings.EqualFold(s.AppID, appID) && s.CreatedDateTime.After(last) {
			last = s.CreatedDateTime
		}
	}
	return last
}

// egressIP is the address Entra saw on our latest sign-in: the one that
// named-location conditions are evaluated against.
func egressIP(sis []policy.SignIn, appID string) string {
	var ip string
	var at time.Time
	for _, s := range sis {
		if strings.EqualFold(s.AppID, appID) && s.IPAddress != "" && s.CreatedDateTime.After(at) {
			ip, at = s.IPAddress, s.CreatedDateTime
		}
	}
	return ip
}

// mergeSignIns adds new entries by id and drops those older than cutoff.
//
// Of the successful non-interactive sign-ins (token refreshes: the probe's
// every interval, the platform's own) only the latest per app is kept.
// Nothing reads the older ones: attribution matches failures, the
// sign-in-frequency clock starts at an interactive sign-in, and the egress
// address is the latest one. Seven days of refreshes are about 700 entries
// per tenant, kept in memory for every tenant between passes.
func mergeSignIns(old, fresh []policy.SignIn, cutoff time.Time) []policy.SignIn {
	seen := map[string]bool{}
	latestRefresh := map[string]int{} // lower-case app id -> index in out
	var out []policy.SignIn
	for _, list := range [][]policy.SignIn{fresh, old} {
		for _, s := range list {
			if seen[s.ID] || s.CreatedDateTime.Before(cutoff) {
				continue
			}
			seen[s.ID] = true
			if s.IsInteractive || s.Status.ErrorCode != 0 {
				out = append(out, s)
				continue
			}
			app := strings.ToLower(s.AppID)
			if i, ok := latestRefresh[app]; ok {
				if s.CreatedDateTime.After(out[i].CreatedDateTime) {
					out[i] = s
				}
				continue
			}
			latestRefresh[app] = len(out)
			out = append(out, s)
		}
	}
	return out
}

func listJSON(items []json.RawMessage) []byte {
	b, _ := json.Marshal(map[string][]json.RawMessage{"value": items})
	return b
}

func domainOf(upn string) string {
	_, d, _ := strings.Cut(upn, "@")
	return strings.ToLower(d)
}
