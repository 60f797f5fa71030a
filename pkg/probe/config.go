package probe

import (
	"strings"

	"github.com/tokenhealth/tokenhealth/internal/config"
)

// Wiring the probe into the daemon (one transport, one prober, one
// scheduler per process):
//
//	hc, err := transport.New(transport.Options{CABundleFile: g.CABundleFile,
//		ProxyURL: g.ProxyURL, MaxConcurrency: g.MaxConcurrentProbes})
//	prober, err := probe.NewProber(probe.ProberOptions{Store: db, HTTP: hc,
//		Clock: clk, Timeout: g.ProbeTimeout.D()})
//	opts := probe.SchedulerOptions{Clock: clk, Probe: prober.Probe,
//		OnUpdate: queueUpdate, OnIdP: queueIdP} // both must not block
//	opts.ApplyConfig(&cfg.Global)
//	sched, err := probe.NewScheduler(opts)
//	specs, err := probe.WithStoredStates(db, probe.SpecsFor(cfg))
//	sched.Set(specs) // again on every reload; prober.Forget(id) for removed tenants
//	err = sched.Run(ctx) // returns after the shutdown grace
//
// An Update becomes findings with u.Findings() and u.ProbeView(); the IdP
// condition with IdPStatus.Finding(). The policy engine reads the clocks
// with probe.LoadClocks(db, tenantID) or prober.Clocks(tenantID).

// TargetFor builds a tenant's probe target from the loaded configuration
// (effective values: defaults and inherited fields already applied, secrets
// resolved).
func TargetFor(g *config.Global, t *config.Tenant) Target {
	eps := g.Endpoints()
	return Target{
		TenantID:       strings.ToLower(t.ID),
		Name:           t.Name,
		ServiceAccount: t.ServiceAccount,
		ClientAppID:    t.ClientAppID,
		ClientType:     ClientType(t.ClientType),
		Credential: Credential{
			Secret:          t.ClientSecret,
			CertificateFile: t.ClientCertificateFile,
			KeyFile:         t.ClientKeyFile,
		},
		AuthorityHost: eps.AuthorityHost,
		Scopes:        []string{eps.GraphScope},
	}
}

// SpecsFor lists every configured tenant for Scheduler.Set, with its own
// probe interval.
func SpecsFor(cfg *config.Config) []Spec {
	out := make([]Spec, 0, len(cfg.Tenants))
	for i := range cfg.Tenants {
		t := &cfg.Tenants[i]
		out = append(out, Spec{Target: TargetFor(&cfg.Global, t), Interval: t.ProbeInterval.D()})
	}
	return out
}

// ApplyConfig copies the global probe settings into the scheduler options
// (the fields the configuration does not cover are left as they are).
func (o *SchedulerOptions) ApplyConfig(g *config.Global) {
	o.Interval = g.ProbeInterval.D()
	o.Jitter = g.ProbeJitter.Duration
	o.JitterPercent = g.ProbeJitter.Percent
	o.MaxConcurrent = g.MaxConcurrentProbes
	o.BackoffInitial = g.BackoffInitial.D()
	o.BackoffMax = g.BackoffMax.D()
	o.UnreachableAfterFailures = g.UnreachableAfterFailures
	o.UnreachableAfter = g.UnreachableAfter.D()
}

// WithStoredStates sets each spec's Initial state from the tenant's stored
// probe state, so a restart does not forget that a token is failing.
func WithStoredStates(st StateStore, specs []Spec) ([]Spec, error) {
	out := append([]Spec(nil), specs...)
	for i := range out {
		ps, err := LoadProbeState(st, strings.ToLower(out[i].Target.TenantID))
		if err != nil {
			return nil, err
		}
		out[i].Initial = StateAfterRestart(ps)
	}
	return out, nil
}
