package agent

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/graph"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/policy"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// tenantRuntime is what the agent knows about one tenant between passes.
// Each producer owns its slice of findings; the health model combines them.
// All fields are guarded by Agent.mu.
type tenantRuntime struct {
	cfg    config.Tenant
	target probe.Target

	probeState  probe.State
	lastProbeAt time.Time    // when the latest attempt ran
	lastUpdate  probe.Update // the scheduler's latest verdict, with its result
	attribution *keptAttribution
	probed      bool
	enrolled    bool
	lastRefresh time.Time
	clocks      probe.Clocks

	// probeFindings come from the latest probe verdict (token failing,
	// tenant unreachable); policyFindings from the latest policy pass
	// (predictions, policy risks, drift, Graph access problems).
	probeFindings  []health.Finding
	policyFindings []health.Finding

	// The latest policy pass, for explain and policies.
	policyReadAt   time.Time
	policyDue      time.Time
	evaluations    []policy.Evaluation
	forecast       policy.Forecast
	account        policy.Account
	subject        policy.Subject
	signIns        []policy.SignIn
	policyProblems []string
	driftFindings  []health.Finding
	snapshot       []json.RawMessage // the policies the last pass read
	// reader is built for a pass and dropped once idle between passes
	// (releaseIdleReaderLocked); readerUsers counts the passes using it.
	reader      *graph.Reader
	readerUsers int

	status health.TenantStatus
}

func (tr *tenantRuntime) findings() []health.Finding {
	out := make([]health.Finding, 0, len(tr.probeFindings)+len(tr.policyFindings))
	out = append(out, tr.probeFindings...)
	return append(out, tr.policyFindings...)
}

// leadSeverity applies the alert lead times to a predicted break, so that
// the tenant state, the CLI and the alert agree on "warning" and
// "critical": a break beyond the warning lead is only information.
func leadSeverity(f health.Finding, now time.Time, warnLead, critLead time.Duration) health.Finding {
	if f.Kind != health.KindPredictedBreak || f.PredictedAt.IsZero() {
		return f
	}
	left := f.PredictedAt.Sub(now)
	switch {
	case left <= critLead:
		f.Severity = health.SeverityCritical
	case left <= warnLead:
		f.Severity = health.SeverityWarning
	default:
		f.Severity = health.SeverityInfo
	}
	return f
}

// rebuild derives the tenant's status from its findings at now.
func (a *Agent) rebuildLocked(tr *tenantRuntime, now time.Time) health.TenantStatus {
	g := a.cfg.Global
	fs := tr.findings()
	for i := range fs {
		fs[i] = leadSeverity(fs[i], now, g.AlertWarningLead.D(), g.AlertCriticalLead.D())
	}
	pv := health.ProbeView{Enrolled: tr.enrolled, Probed: tr.probed, LastRefresh: tr.lastRefresh, LastProbe: tr.lastProbeAt}
	st := health.Build(tr.cfg.ID, tr.cfg.Name, pv, fs)
	tr.status = st
	return st
}

// probeFindingsLocked is the probe's verdict on the tenant (token failing,
// tenant unreachable) with the responsible policies added where evidence
// names them.
func (a *Agent) probeFindingsLocked(tr *tenantRuntime) []health.Finding {
	fs := tr.lastUpdate.Findings()
	attr := a.attributeLocked(tr)
	for i := range fs {
		fs[i].TenantID, fs[i].TenantName = tr.cfg.ID, tr.cfg.Name
		if fs[i].Kind != health.KindTokenFailing || attr == nil {
			continue
		}
		f := &fs[i]
		for _, p := range attr.Policies {
			f.Policies = append(f.Policies, p.Policy)
			f.Evidence = append(f.Evidence, fmt.Sprintf("policy %q: %s", p.Policy.DisplayName, p.Why))
		}
		f.Evidence = append(f.Evidence, attr.Evidence...)
		if attr.EvidenceSource != "" {
			f.Evidence = append(f.Evidence, "attributed from: "+attr.EvidenceSource)
		}
		var steps []string
		for _, p := range f.Policies {
			steps = append(steps, exclusionStep(tr, p))
		}
		f.Remediation = append(steps, f.Remediation...)
		if tr.lastUpdate.Result.Diagnosis.ReEnroll {
			f.Remediation = append(f.Remediation, fmt.Sprintf("after the change, re-enroll: tokenhealth enroll %s (and re-authenticate the platform's own connection)", tr.cfg.ID))
		}
	}
	return fs
}

// exclusionStep is the concrete change for one responsible policy.
func exclusionStep(tr *tenantRuntime, p health.PolicyRef) string {
	return fmt.Sprintf("exclude %s from policy %q: %s", tr.cfg.ServiceAccount, p.DisplayName, policy.PortalExcludePath(p.DisplayName))
}

func itoa(n int) string { return strconv.Itoa(n) }

func parseInt64(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}
