package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// Defaults match the configuration defaults (global.alert_*_lead,
// repeat_interval, group_window).
const (
	DefaultWarningLead    = 72 * time.Hour
	DefaultCriticalLead   = 24 * time.Hour
	DefaultRepeatInterval = 4 * time.Hour
	DefaultGroupWindow    = time.Minute
	DefaultResendInterval = 5 * time.Minute
	DefaultTickInterval   = 30 * time.Second
	DefaultSendTimeout    = 30 * time.Second
	DefaultMaxInFlight    = 2
	DefaultBackoffInitial = 10 * time.Second
	DefaultBackoffMax     = 5 * time.Minute
	DefaultMaxAge         = 7 * 24 * time.Hour
)

// Options configure a Notifier. DB and Receivers are required.
type Options struct {
	DB        *store.DB
	Clock     clock.Clock
	Receivers []Receiver
	Routes    []Route
	Tenants   TenantLookup

	WarningLead    time.Duration // a predicted break becomes a warning this long before
	CriticalLead   time.Duration // ...and critical this long before
	RepeatInterval time.Duration // re-notify a still-firing (non-predicted) alert
	GroupWindow    time.Duration // wait this long to group the same kind across tenants
	ResendInterval time.Duration // PerAlert receivers: re-send firing alerts this often

	TickInterval   time.Duration // how often repeats, lead times and silences are re-checked
	SendTimeout    time.Duration // bound of one delivery attempt
	MaxInFlight    int           // concurrent deliveries per receiver
	BackoffInitial time.Duration
	BackoffMax     time.Duration
	MaxAge         time.Duration // give up on a message retried this long

	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Jitter returns a number in [0,1); default math/rand. Tests fix it.
	Jitter func() float64
}

func (o *Options) defaults() error {
	if o.DB == nil {
		return errors.New("notify: Options.DB is required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.WarningLead, DefaultWarningLead)
	set(&o.CriticalLead, DefaultCriticalLead)
	set(&o.RepeatInterval, DefaultRepeatInterval)
	set(&o.ResendInterval, min(DefaultResendInterval, o.RepeatInterval))
	set(&o.TickInterval, DefaultTickInterval)
	set(&o.SendTimeout, DefaultSendTimeout)
	set(&o.BackoffInitial, DefaultBackoffInitial)
	set(&o.BackoffMax, DefaultBackoffMax)
	set(&o.MaxAge, DefaultMaxAge)
	if o.GroupWindow < 0 {
		o.GroupWindow = 0
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.CriticalLead >= o.WarningLead {
		return fmt.Errorf("notify: critical lead %s must be shorter than warning lead %s", o.CriticalLead, o.WarningLead)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	seen := map[string]bool{}
	for _, r := range o.Receivers {
		if r.Name == "" || r.Integration == nil {
			return fmt.Errorf("notify: receiver %q has no name or no integration", r.Name)
		}
		if seen[r.Name] {
			return fmt.Errorf("notify: receiver %q defined twice", r.Name)
		}
		seen[r.Name] = true
	}
	for i, rt := range o.Routes {
		if !seen[rt.Receiver] {
			return fmt.Errorf("notify: routes[%d]: unknown receiver %q", i, rt.Receiver)
		}
	}
	return nil
}

// effectiveSeverity applies the lead times: a predicted break is not an
// alert before the warning lead, a warning until the critical lead and
// critical after it, whatever severity the producer chose. Every other
// finding keeps its own severity.
func (n *Notifier) effectiveSeverity(f health.Finding, now time.Time) (health.Severity, bool) {
	if f.Kind != health.KindPredictedBreak || f.PredictedAt.IsZero() {
		return f.Severity, true
	}
	left := f.PredictedAt.Sub(now)
	switch {
	case left > n.opts.WarningLead:
		return "", false
	case left > n.opts.CriticalLead:
		return health.SeverityWarning, true
	default:
		return health.SeverityCritical, true
	}
}

// repeats reports whether a still-firing alert is re-notified. Predictions
// are not: their reminder is the escalation to critical at the critical
// lead, and a warning repeated every few hours for three days teaches
// people to ignore the channel.
func repeats(f health.Finding) bool {
	return f.Kind != health.KindPredictedBreak || f.PredictedAt.IsZero()
}
