package agent

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// metrics are the agent's Prometheus series, named tokenhealth_<thing>_<unit>.
// Per-tenant series carry the tenant id only (names change; ids do not).
type metrics struct {
	tenantState     *prometheus.GaugeVec
	secondsToBreak  *prometheus.GaugeVec
	probeLatency    prometheus.Histogram
	probeFailures   *prometheus.CounterVec
	probes          *prometheus.CounterVec
	graphThrottled  *prometheus.CounterVec
	graphErrors     *prometheus.CounterVec
	configReload    *prometheus.CounterVec
	configValid     prometheus.Gauge
	idpUnreachable  prometheus.Gauge
	tenants         prometheus.Gauge
	backoffSeconds  *prometheus.GaugeVec
	lastCycleSecond prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		tenantState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tokenhealth_tenant_state",
			Help: "1 for the tenant's current state (pending, healthy, warning, failing, unreachable), 0 for the others.",
		}, []string{"tenant", "state"}),
		secondsToBreak: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tokenhealth_tenant_predicted_break_seconds",
			Help: "Seconds until the earliest predicted break of the tenant's token (negative: already past). Absent when nothing is predicted.",
		}, []string{"tenant"}),
		probeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tokenhealth_probe_duration_seconds",
			Help:    "Duration of refresh-token redemptions.",
			Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenhealth_probes_total",
			Help: "Probe attempts by outcome (ok, definitive, transient).",
		}, []string{"outcome"}),
		probeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenhealth_probe_failures_total",
			Help: "Failed probe attempts by diagnosed cause.",
		}, []string{"cause"}),
		graphThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenhealth_graph_throttled_total",
			Help: "Microsoft Graph requests answered 429, by operation.",
		}, []string{"op"}),
		graphErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenhealth_graph_errors_total",
			Help: "Failed Microsoft Graph reads by operation.",
		}, []string{"op"}),
		configReload: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenhealth_config_reloads_total",
			Help: "Configuration reloads by result (ok, refused).",
		}, []string{"result"}),
		configValid: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tokenhealth_config_last_reload_successful",
			Help: "1 when the last configuration (re)load was accepted.",
		}),
		idpUnreachable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tokenhealth_idp_unreachable",
			Help: "1 while most tenants fail transiently at once (identity provider unreachable).",
		}),
		tenants: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tokenhealth_tenants",
			Help: "Tenants configured.",
		}),
		backoffSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tokenhealth_tenant_backoff_seconds",
			Help: "Current transient-failure backoff of the tenant's probe (0 when none).",
		}, []string{"tenant"}),
		lastCycleSecond: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tokenhealth_last_policy_pass_timestamp_seconds",
			Help: "Unix time of the last completed policy evaluation of any tenant.",
		}),
	}
	reg.MustRegister(m.tenantState, m.secondsToBreak, m.probeLatency, m.probes, m.probeFailures,
		m.graphThrottled, m.graphErrors, m.configReload, m.configValid, m.idpUnreachable, m.tenants,
		m.backoffSeconds, m.lastCycleSecond)
	return m
}

// setTenant publishes one tenant's status; it is called with every status
// the health model produces, so the metrics say what the CLI says.
func (m *metrics) setTenant(st health.TenantStatus, secondsToBreak float64, hasBreak bool) {
	for _, s := range health.States {
		v := 0.0
		if s == st.State {
			v = 1
		}
		m.tenantState.WithLabelValues(st.ID, string(s)).Set(v)
	}
	if hasBreak {
		m.secondsToBreak.WithLabelValues(st.ID).Set(secondsToBreak)
	} else {
		m.secondsToBreak.DeleteLabelValues(st.ID)
	}
}

// forgetTenant removes a tenant's series after it left the configuration.
func (m *metrics) forgetTenant(id string) {
	for _, s := range health.States {
		m.tenantState.DeleteLabelValues(id, string(s))
	}
	m.secondsToBreak.DeleteLabelValues(id)
	m.backoffSeconds.DeleteLabelValues(id)
}
