package notify

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// Notifier turns per-tenant findings into notifications and delivers them.
// Evaluate is called after every tenant evaluation; Run delivers.
type Notifier struct {
	opts      Options
	receivers map[string]Receiver
	names     []string
	router    router
	metrics   *metrics

	mu sync.Mutex
	// findings holds the latest findings of every tenant evaluated since
	// start. Only those tenants are reconciled: a tenant not yet evaluated
	// after a restart has unknown findings, not cleared ones.
	findings map[string][]health.Finding
	// agent holds the agent-health findings raised by delivery failures,
	// by receiver name.
	agent   map[string]health.Finding
	state   *persisted
	open    map[string]uint64 // group key -> outbox seq still accepting alerts
	busy    map[uint64]bool   // outbox entries being delivered
	inFl    map[string]int    // deliveries in flight per receiver
	wake    chan struct{}
	running bool
	lastGC  time.Time
}

// New loads the alert log and outbox from the state file.
func New(opts Options) (*Notifier, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	st, err := loadState(opts.DB)
	if err != nil {
		return nil, fmt.Errorf("notify: load state: %w", err)
	}
	n := &Notifier{
		opts: opts, receivers: map[string]Receiver{}, router: router{routes: opts.Routes, lookup: opts.Tenants},
		findings: map[string][]health.Finding{}, agent: map[string]health.Finding{}, state: st,
		open: map[string]uint64{}, busy: map[uint64]bool{}, inFl: map[string]int{}, wake: make(chan struct{}, 1),
	}
	for _, r := range opts.Receivers {
		n.receivers[r.Name] = r
		n.names = append(n.names, r.Name)
	}
	n.metrics = newMetrics(opts.Registerer, func() float64 {
		n.mu.Lock()
		defer n.mu.Unlock()
		return float64(len(n.state.outbox))
	})
	n.rebuildOpenLocked()
	// Agent-health alerts survive a restart as log entries; keep them
	// active until their receiver delivers again.
	for _, e := range st.log {
		if e.TenantID == AgentTenantID && e.Finding.Kind == health.KindAgentHealth {
			if r := failingReceiver(e.Finding); r != "" {
				n.agent[r] = e.Finding
			}
		}
	}
	if len(n.agent) > 0 {
		n.findings[AgentTenantID] = nil
	}
	return n, nil
}

// Evaluate records the complete, current findings of one tenant and queues
// the notifications their changes call for: new, escalated and resolved
// alerts. It returns once the notifications are in the outbox.
//
// Global conditions (idp_unreachable, the agent's own problems) are
// evaluated under AgentTenantID. A tenant removed from the configuration
// should get one last Evaluate(id, nil) so its open alerts are resolved.
func (n *Notifier) Evaluate(tenantID string, findings []health.Finding) error {
	fs := make([]health.Finding, 0, len(findings))
	for _, f := range findings {
		switch f.TenantID {
		case tenantID:
		case "":
			f.TenantID = tenantID
		default:
			return fmt.Errorf("notify: finding for tenant %q given in the evaluation of %q", f.TenantID, tenantID)
		}
		if f.TenantName == "" && n.opts.Tenants != nil {
			if ti, ok := n.opts.Tenants(f.TenantID); ok {
				f.TenantName = ti.Name
			}
		}
		fs = append(fs, f)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.findings[tenantID] = fs
	err := n.reconcileLocked([]string{tenantID})
	n.kick()
	return err
}

// Tick re-checks every evaluated tenant at the current time: lead times
// passed, repeat intervals due, silences ended. Run calls it periodically.
func (n *Notifier) Tick() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	err := n.reconcileLocked(slices.Sorted(maps.Keys(n.findings)))
	if now := n.opts.Clock.Now(); now.Sub(n.lastGC) >= time.Hour {
		n.gcThreadsLocked(now)
		n.lastGC = now
	}
	n.kick()
	return err
}

func (n *Notifier) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// tenantFindings returns what the tenant currently has, including the
// agent's own delivery problems for the agent pseudo-tenant.
func (n *Notifier) tenantFindings(tenantID string) []health.Finding {
	fs := n.findings[tenantID]
	if tenantID == AgentTenantID {
		fs = slices.Clone(fs)
		for _, name := range slices.Sorted(maps.Keys(n.agent)) {
			fs = append(fs, n.agent[name])
		}
	}
	return fs
}

func (n *Notifier) idpDown() bool {
	for _, fs := range n.findings {
		for _, f := range fs {
			if f.Kind == health.KindIdPUnreachable {
				return true
			}
		}
	}
	return false
}

// reconcileLocked compares the tenants' current findings with the alert log
// and writes the resulting log changes and outbox messages in one
// transaction: either both happen or neither, so a crash can neither lose a
// notification nor queue one twice.
func (n *Notifier) reconcileLocked(tenants []string) error {
	now := n.opts.Clock.Now().UTC()
	idpDown := n.idpDown()
	err := n.opts.DB.Update(func(tx *store.Tx) error {
		sils, expired, err := activeSilences(tx, now)
		if err != nil {
			return err
		}
		w := &writer{n: n, tx: tx, now: now, dirty: expired}
		for _, t := range tenants {
			if err := n.reconcileTenant(w, t, sils, idpDown); err != nil {
				return err
			}
		}
		if !w.dirty {
			// Nothing changed (the common case at a tick): roll back
			// rather than commit, which would cost two fsyncs.
			return errNoChange
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err != nil {
		// The writer updated the in-memory mirror as it went; the
		// transaction rolled back, so the file is the truth again.
		n.reloadLocked()
		return fmt.Errorf("notify: record alerts: %w", err)
	}
	return nil
}

// errNoChange rolls back a reconcile transaction that wrote nothing.
var errNoChange = errors.New("no change")

// reloadLocked replaces the in-memory mirror by the state file's content.
func (n *Notifier) reloadLocked() {
	st, err := loadState(n.opts.DB)
	if err != nil {
		n.opts.Logger.Error("reload notification state", "err", err)
		return
	}
	n.state = st
	n.rebuildOpenLocked()
}

// rebuildOpenLocked finds the queued groups that still accept alerts.
func (n *Notifier) rebuildOpenLocked() {
	n.open = map[string]uint64{}
	now := n.opts.Clock.Now()
	for _, e := range n.state.outbox {
		if e.GroupKey != "" && e.Attempts == 0 && e.NotBefore.After(now) && !n.busy[e.Seq] {
			n.open[e.GroupKey] = e.Seq
		}
	}
}

func (n *Notifier) reconcileTenant(w *writer, tenantID string, sils []Silence, idpDown bool) error {
	desired := map[string]bool{} // logKey -> still firing for that receiver
	findings := n.tenantFindings(tenantID)
	failing := failingTokenOf(findings)
	for _, f := range findings {
		sev, ok := n.effectiveSeverity(f, w.now)
		if !ok {
			continue
		}
		key := AlertKey(f)
		m := notMuted
		switch {
		case silenced(f, sils):
			m = mutedBySilence
		case inhibitedBy(f, idpDown, failing):
			m = mutedByInhibition
		}
		for _, rname := range n.router.receiversFor(f, sev, n.names) {
			lk := logKey(rname, key)
			desired[lk] = true
			if err := n.reconcileAlert(w, n.receivers[rname], lk, key, f, sev, m); err != nil {
				return err
			}
		}
	}
	entries := n.state.byTenant[tenantID]
	for _, lk := range slices.Sorted(maps.Keys(entries)) {
		e := entries[lk]
		if desired[lk] {
			continue
		}
		if err := n.resolve(w, lk, e); err != nil {
			return err
		}
	}
	return nil
}

// mute says why an alert is not announced now.
type mute int

const (
	notMuted          mute = iota
	mutedBySilence         // an operator's silence
	mutedByInhibition      // explained by another alert (inhibit.go)
)

func (n *Notifier) reconcileAlert(w *writer, r Receiver, lk, key string, f health.Finding, sev health.Severity, m mute) error {
	e, known := n.state.log[lk]
	var reason Reason
	endOld := false
	switch {
	case m == mutedByInhibition && known && r.Delivery == PerAlert && !w.now.Before(e.LastNotified.Add(n.opts.ResendInterval)):
		// Alertmanager resolves by itself an alert that is no longer
		// re-sent. An inhibited alert has not ended (another alert
		// explains it), so its copy is kept alive at the severity
		// Alertmanager knows; otherwise it would report a false "resolved".
		sev, reason = e.Severity, ReasonRepeat
	case m != notMuted:
		// Silenced or inhibited: nothing is sent, but an alert already
		// announced stays in the log so that its end is still reported.
	case !known:
		reason = ReasonNew
	case r.Delivery == PerAlert && sev != e.Severity:
		// Alertmanager identifies an alert by its labels, severity
		// included: end the old one rather than let it linger to endsAt.
		endOld = true
		reason = ReasonRepeat
		if sev.Rank() > e.Severity.Rank() {
			reason = ReasonEscalated
		}
	case sev.Rank() > e.Severity.Rank():
		reason = ReasonEscalated
	case r.Delivery == PerAlert && !w.now.Before(e.LastNotified.Add(n.opts.ResendInterval)):
		reason = ReasonRepeat
	case r.Delivery == Grouped && repeats(f) && !w.now.Before(e.LastNotified.Add(n.opts.RepeatInterval)):
		reason = ReasonRepeat
	}
	if reason == "" {
		if !known {
			return nil
		}
		// A lower severity is remembered so that a later rise is announced.
		if sev.Rank() < e.Severity.Rank() || !sameFinding(e.Finding, f) {
			upd := *e
			upd.Finding = f
			if sev.Rank() < upd.Severity.Rank() {
				upd.Severity = sev
			}
			return w.putLog(lk, &upd)
		}
		return nil
	}
	upd := logEntry{Receiver: r.Name, Key: key, TenantID: f.TenantID, Severity: sev, Finding: f, StartsAt: w.now, LastNotified: w.now}
	if known {
		upd.StartsAt = e.StartsAt
	}
	if endOld {
		ended := Alert{Key: key, Status: StatusResolved, Severity: e.Severity, Finding: e.Finding, StartsAt: e.StartsAt, EndsAt: w.now}
		if _, err := w.enqueue(r, StatusResolved, ReasonResolved, ended, ""); err != nil {
			return err
		}
	}
	alert := Alert{Key: key, Status: StatusFiring, Severity: sev, Finding: f, StartsAt: upd.StartsAt}
	if reason == ReasonEscalated && r.Delivery == Grouped {
		// Escalated before the "new" message left its group window: one
		// message at the higher severity says it all.
		upgraded, err := w.upgradeQueued(e.ThreadOf, alert)
		if err != nil {
			return err
		}
		if upgraded {
			upd.ThreadOf = e.ThreadOf
			upd.LastNotified = e.LastNotified
			return w.putLog(lk, &upd)
		}
	}
	id, err := w.enqueue(r, StatusFiring, reason, alert, "")
	if err != nil {
		return err
	}
	upd.ThreadOf = id
	return w.putLog(lk, &upd)
}

func (n *Notifier) resolve(w *writer, lk string, e *logEntry) error {
	withdrawn, err := w.withdraw(e.ThreadOf, e.Key)
	if err != nil {
		return err
	}
	r, ok := n.receivers[e.Receiver]
	if ok && !withdrawn {
		alert := Alert{Key: e.Key, Status: StatusResolved, Severity: e.Severity, Finding: e.Finding, StartsAt: e.StartsAt, EndsAt: w.now}
		if _, err := w.enqueue(r, StatusResolved, ReasonResolved, alert, e.ThreadOf); err != nil {
			return err
		}
	}
	// A receiver removed from the configuration gets nothing; its entries
	// simply go.
	return w.deleteLog(lk)
}

func sameFinding(a, b health.Finding) bool {
	return a.Severity == b.Severity && a.Summary == b.Summary && a.PredictedAt.Equal(b.PredictedAt) &&
		slices.Equal(a.Evidence, b.Evidence) && slices.Equal(a.Remediation, b.Remediation) &&
		slices.Equal(a.Policies, b.Policies) && a.TenantName == b.TenantName && a.Cause == b.Cause
}
