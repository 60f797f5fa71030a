package probe

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

// Spec is one tenant to schedule: its target and probe interval (zero:
// the scheduler's default).
type Spec struct {
	Target   Target
	Interval time.Duration
	// Initial is the state a newly added tenant starts in (default
	// pending); after a restart, StateAfterRestart of its stored probe
	// state keeps a failing tenant failing until it is probed again.
	Initial State
}

// Update is sent after every recorded attempt.
type Update struct {
	TenantID string
	Name     string
	State    State
	Previous State
	Result   Result
	// IdP is the global condition after this attempt.
	IdP IdPStatus
	// ConsecutiveTransient and TransientSince describe the current run of
	// transient failures (zero after a conclusive attempt).
	ConsecutiveTransient int
	TransientSince       time.Time
	// NextProbe is when the tenant is probed again: after a transient
	// failure, the backoff (exported as a metric).
	NextProbe time.Time
}

// TenantStatus is a snapshot of one tenant in the scheduler.
type TenantStatus struct {
	TenantID             string
	Name                 string
	State                State
	NextProbe            time.Time
	ConsecutiveTransient int
	Last                 Result
}

// SchedulerOptions configure NewScheduler. Zero values take the defaults
// of the configuration spec.
type SchedulerOptions struct {
	Clock clock.Clock
	// Probe runs one attempt (Prober.Probe in production).
	Probe func(ctx context.Context, t Target) Result

	Interval time.Duration // default 15m
	// Jitter moves each probe by up to ± this much; when zero,
	// JitterPercent of the tenant's interval (default 10%). Capped at half
	// the interval.
	Jitter        time.Duration
	JitterPercent float64
	MaxConcurrent int // probes in flight; default 32

	// FailingInterval is the probe interval of a failing tenant when longer
	// than its own: a dead token re-probed every few minutes only fills the
	// customer's sign-in log with failures, while a fix (policy change,
	// re-enrollment, which probes at once) is still seen within it.
	FailingInterval time.Duration // default 1h

	BackoffInitial time.Duration // default 1m
	BackoffMax     time.Duration // default 15m

	UnreachableAfterFailures int           // default 3
	UnreachableAfter         time.Duration // default 30m

	// StartSpread spreads the first probes of newly added tenants, so a
	// start with 10,000 tenants does not fire them in one instant.
	StartSpread time.Duration // default 1m

	// IdP outage: at least IdPMinTenants probed within IdPWindow and at
	// least IdPFraction of them failing transiently.
	IdPWindow     time.Duration // default 5m
	IdPMinTenants int           // default 3
	IdPFraction   float64       // default 0.5

	// ShutdownGrace is how long in-flight probes may finish after Run's
	// context ends before they are abandoned. Default 10s.
	ShutdownGrace time.Duration

	// OnUpdate receives every recorded attempt, on the scheduler's
	// goroutine: it must not block (hand the update to a queue).
	OnUpdate func(Update)
	// OnIdP receives changes of the global condition, same rules.
	OnIdP func(IdPStatus)

	Seed   uint64 // jitter seed; 0 picks one from the clock
	Logger *slog.Logger
}

func (o *SchedulerOptions) defaults() error {
	if o.Probe == nil {
		return errors.New("scheduler: Probe is required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&o.Interval, 15*time.Minute)
	if o.Jitter <= 0 && o.JitterPercent <= 0 {
		o.JitterPercent = 10
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 32
	}
	setDur(&o.FailingInterval, time.Hour)
	setDur(&o.BackoffInitial, time.Minute)
	setDur(&o.BackoffMax, 15*time.Minute)
	if o.UnreachableAfterFailures <= 0 {
		o.UnreachableAfterFailures = 3
	}
	setDur(&o.UnreachableAfter, 30*time.Minute)
	setDur(&o.StartSpread, time.Minute)
	setDur(&o.IdPWindow, 5*time.Minute)
	if o.IdPMinTenants <= 0 {
		o.IdPMinTenants = 3
	}
	if o.IdPFraction <= 0 || o.IdPFraction > 1 {
		o.IdPFraction = 0.5
	}
	setDur(&o.ShutdownGrace, 10*time.Second)
	if o.Seed == 0 {
		o.Seed = uint64(o.Clock.Now().UnixNano())
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// Scheduler probes every tenant on its interval with a bounded worker pool
// fed from one timer heap. Tenants can be added, changed and removed while
// it runs.
type Scheduler struct {
	opts     SchedulerOptions
	debounce debounce

	mu       sync.Mutex
	entries  map[string]*entry
	heap     timerHeap
	inFlight int
	idp      *idpDetector
	rnd      jitterer
	waiting  bool      // the loop is blocked in select (tests read it)
	armedAt  time.Time // deadline of the armed timer
	// lastDispatch is the clock's reading at the last dispatch: a later
	// reading well before it means the clock was set back.
	lastDispatch time.Time
	armed        <-chan time.Time
	wake         chan struct{} // schedule changed
	wakes        int           // signals not yet taken by the loop
	results      chan jobResult
	running      bool
}

type job struct {
	e      *entry
	target Target
}

type jobResult struct {
	e *entry
	r Result
}

// NewScheduler returns a scheduler; call Set to give it tenants and Run to
// start it.
func NewScheduler(opts SchedulerOptions) (*Scheduler, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	return &Scheduler{
		opts:     opts,
		debounce: debounce{failures: opts.UnreachableAfterFailures, after: opts.UnreachableAfter},
		entries:  map[string]*entry{},
		idp:      newIdPDetector(opts.IdPWindow, opts.IdPMinTenants, opts.IdPFraction),
		rnd:      newJitterer(opts.Seed),
		wake:     make(chan struct{}, 1),
		// Each in-flight job yields exactly one result, so a buffer of
		// MaxConcurrent means a worker never blocks handing one back.
		results: make(chan jobResult, opts.MaxConcurrent),
	}, nil
}

// Set replaces the tenant list (start-up and config reload). New tenants
// start pending with their first probe spread over StartSpread; changed
// tenants keep their state and schedule (a shorter interval applies at
// once); missing tenants are dropped, and a result still in flight for one
// is discarded. The caller drops removed tenants from the Prober (Forget).
func (s *Scheduler) Set(specs []Spec) {
	s.mu.Lock()
	idpChanged := false
	now := s.opts.Clock.Now()
	keep := make(map[string]bool, len(specs))
	for _, sp := range specs {
		id := strings.ToLower(sp.Target.TenantID)
		keep[id] = true
		if e := s.entries[id]; e != nil {
			e.spec = sp
			// A shortened interval takes effect now, not after the old,
			// longer wait.
			if latest := now.Add(s.interval(e)); e.index >= 0 && e.next.After(latest) {
				s.heap.schedule(e, s.nextRegular(e, now))
			}
			continue
		}
		e := &entry{spec: sp, state: StatePending, index: -1}
		if sp.Initial != "" {
			e.state = sp.Initial
		}
		s.entries[id] = e
		s.heap.schedule(e, now.Add(s.rnd.uniform(s.opts.StartSpread)))
	}
	for id, e := range s.entries {
		if !keep[id] {
			s.heap.remove(e)
			delete(s.entries, id)
			if s.idp.forget(id, now) {
				idpChanged = true
			}
		}
	}
	st := s.idp.status()
	s.signal()
	s.mu.Unlock()
	if idpChanged && s.opts.OnIdP != nil {
		s.opts.OnIdP(st)
	}
}

// ProbeNow moves the tenant's next probe to now (after an enrollment, or
// on an operator's request). It reports whether the tenant is known.
func (s *Scheduler) ProbeNow(tenantID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[strings.ToLower(tenantID)]
	if e == nil {
		return false
	}
	if e.inFlight {
		e.probeAgainAfter = true
	} else {
		s.heap.schedule(e, s.opts.Clock.Now())
	}
	s.signal()
	return true
}

// Reenrolled resets the tenant's failure state (a new token replaced the
// old one) and probes it now.
func (s *Scheduler) Reenrolled(tenantID string) bool {
	s.mu.Lock()
	if e := s.entries[strings.ToLower(tenantID)]; e != nil {
		e.state, e.transients, e.backoff = StatePending, 0, 0
	}
	s.mu.Unlock()
	return s.ProbeNow(tenantID)
}

// Status returns a snapshot of every tenant, sorted by tenant id.
func (s *Scheduler) Status() []TenantStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TenantStatus, 0, len(s.entries))
	for id, e := range s.entries {
		out = append(out, TenantStatus{TenantID: id, Name: e.spec.Target.DisplayName(), State: e.state,
			NextProbe: e.next, ConsecutiveTransient: e.transients, Last: e.last})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TenantID < out[j].TenantID })
	return out
}

// IdP returns the global identity-provider condition.
func (s *Scheduler) IdP() IdPStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idp.status()
}

// signal wakes the loop; called with s.mu held.
func (s *Scheduler) signal() {
	s.wakes++
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) interval(e *entry) time.Duration {
	iv := s.opts.Interval
	if e.spec.Interval > 0 {
		iv = e.spec.Interval
	}
	if e.state == StateFailing {
		iv = max(iv, s.opts.FailingInterval)
	}
	return iv
}

// nextRegular is the next probe time after a conclusive attempt.
func (s *Scheduler) nextRegular(e *entry, now time.Time) time.Time {
	iv := s.interval(e)
	return now.Add(s.rnd.around(iv, s.jitterFor(iv)))
}

// jitterFor is how far a probe at interval iv may move either way.
func (s *Scheduler) jitterFor(iv time.Duration) time.Duration {
	j := s.opts.Jitter
	if j <= 0 {
		j = time.Duration(float64(iv) * s.opts.JitterPercent / 100)
	}
	return min(j, iv/2)
}

func lowerID(id string) string { return strings.ToLower(id) }
