package notify

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sent   *prometheus.CounterVec
	failed *prometheus.CounterVec
}

// newMetrics registers the delivery metrics on reg (nil: not exported).
func newMetrics(reg prometheus.Registerer, depth func() float64) *metrics {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenhealth_notifications_sent_total",
			Help: "Notifications delivered, by integration.",
		}, []string{"integration"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenhealth_notifications_failed_total",
			Help: "Failed delivery attempts, by integration and reason (rate_limited, server_error, client_error, auth, config, connection, render, expired).",
		}, []string{"integration", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.failed, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tokenhealth_notification_outbox_messages",
			Help: "Notifications queued in the outbox, waiting for delivery or a retry.",
		}, depth))
	}
	return m
}
