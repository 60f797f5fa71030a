package agent

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/graph"
	"github.com/tokenhealth/tokenhealth/internal/transport"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/notify/receivers"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// buildClients creates the process-wide HTTP client, the prober and the
// scheduler. They live for the whole process: a reload changes tenants and
// receivers, not the transport (a CA bundle change needs a restart).
func (a *Agent) buildClients(cfg *config.Config) error {
	g := cfg.Global
	topts := transport.Options{
		CABundleFile: g.CABundleFile, ProxyURL: g.ProxyURL,
		MaxConcurrency: g.MaxConcurrentProbes, DialContext: a.opts.Dial,
	}
	hc, err := transport.New(topts)
	if err != nil {
		return err
	}
	tr, err := transport.NewTransport(topts)
	if err != nil {
		return err
	}
	a.http = hc
	a.graphHC = graph.NewHTTPClient(tr)
	a.prober, err = probe.NewProber(probe.ProberOptions{
		Store: a.db, HTTP: hc, Clock: a.clock, Timeout: g.ProbeTimeout.D(), Logger: a.log,
	})
	if err != nil {
		return err
	}
	sopts := probe.SchedulerOptions{
		Clock: a.clock, Probe: a.prober.Probe, ShutdownGrace: g.ProbeTimeout.D(),
		OnUpdate: a.enqueueUpdate, OnIdP: a.onIdP, Logger: a.log,
	}
	sopts.ApplyConfig(&g)
	a.sched, err = probe.NewScheduler(sopts)
	return err
}

// readerFor builds the tenant's Graph reader on the canary's own token.
func (a *Agent) readerFor(g config.Global, tr *tenantRuntime) (*graph.Reader, error) {
	ep := g.Endpoints()
	target := tr.target
	graphRoot := strings.TrimSuffix(ep.GraphBaseURL, "/v1.0")
	return graph.NewReader(graph.Config{
		TenantID: target.TenantID,
		Tokens: graph.TokenSourceFunc(func(ctx context.Context, scopes []string, claims string) (string, time.Time, error) {
			return a.prober.AccessToken(ctx, target, scopes, claims)
		}),
		HTTPClient: a.graphHC, GraphURL: graphRoot, Scopes: []string{ep.GraphScope},
		Clock: a.clock, Logger: a.log,
	})
}

// tenantLookup serves the notifier's routing by tag. It reads a snapshot
// published on every configuration change and never takes a.mu: the
// notifier calls it inside its state-file transactions, and taking the
// agent's lock there would invert the lock order with the policy pass.
func (a *Agent) tenantLookup(id string) (notify.TenantInfo, bool) {
	m := a.lookup.Load()
	if m == nil {
		return notify.TenantInfo{}, false
	}
	ti, ok := (*m)[strings.ToLower(id)]
	return ti, ok
}

// publishLookupLocked refreshes the notifier's tenant snapshot.
func (a *Agent) publishLookupLocked() {
	m := make(map[string]notify.TenantInfo, len(a.tenants))
	for id, tr := range a.tenants {
		m[id] = notify.TenantInfo{ID: tr.cfg.ID, Name: tr.cfg.Name, Tags: tr.cfg.Tags}
	}
	a.lookup.Store(&m)
}

// startNotifier (re)creates the notifier for cfg's receivers and routes and
// replays every tenant's current findings into it. The outbox and alert
// log are in the state file, so nothing is lost across a rebuild.
func (a *Agent) startNotifier(cfg *config.Config) error {
	opts, err := receivers.Options(cfg, receivers.Deps{HTTPClient: a.http})
	if err != nil {
		return err
	}
	for _, extra := range a.opts.ExtraReceivers {
		opts.Receivers = append(opts.Receivers, extra)
		opts.Routes = append(opts.Routes, notify.Route{Receiver: extra.Name})
	}
	opts.DB, opts.Clock, opts.Logger, opts.Registerer = a.db, a.clock, a.log, notifyRegisterer{a}
	opts.Tenants = a.tenantLookup // follows reloads without a rebuild
	n, err := notify.New(opts)
	if err != nil {
		return err
	}
	a.stopNotifier()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.mu.Lock()
	a.notifier, a.stopNotify, a.notifyDone = n, cancel, done
	snapshot := map[string][]health.Finding{}
	for id, tr := range a.tenants {
		if tr.probed || len(tr.policyFindings) > 0 {
			snapshot[id] = tr.status.Findings
		}
	}
	a.mu.Unlock()
	for id, fs := range snapshot {
		if err := n.Evaluate(id, fs); err != nil {
			a.log.Error("replaying findings into the notifier", "tenant", id, "err", err)
		}
	}
	go func() {
		defer close(done)
		if err := n.Run(ctx); err != nil {
			a.log.Error("notifier stopped", "err", err)
		}
	}()
	return nil
}

func (a *Agent) stopNotifier() {
	a.mu.Lock()
	cancel, done := a.stopNotify, a.notifyDone
	a.stopNotify, a.notifyDone = nil, nil
	a.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// notifyRegisterer lets a rebuilt notifier (after a reload) register its
// collectors again: the previous notifier's ones are replaced, so the
// counters restart, which Prometheus treats as a counter reset.
type notifyRegisterer struct{ a *Agent }

func (r notifyRegisterer) Register(c prometheus.Collector) error {
	err := r.a.reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		r.a.reg.Unregister(are.ExistingCollector)
		return r.a.reg.Register(c)
	}
	return err
}

func (r notifyRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r notifyRegisterer) Unregister(c prometheus.Collector) bool { return r.a.reg.Unregister(c) }
