package probe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrAlreadyRunning is returned by a second concurrent Run.
var ErrAlreadyRunning = errors.New("scheduler is already running")

// Run probes until ctx ends. In-flight probes then get ShutdownGrace to
// finish (their results are still recorded); after that they are
// abandoned: their context is cancelled and nothing is recorded for them.
// Run returns once no probe is running, or with an error naming how many
// ignored the cancellation for another ShutdownGrace.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return ErrAlreadyRunning
	}
	s.running = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}()

	// Probes outlive ctx by the grace period, so they get a context of
	// their own that only the abandon step cancels.
	probeCtx, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	jobs := make(chan job)
	var workers sync.WaitGroup
	for range s.opts.MaxConcurrent {
		workers.Add(1)
		go s.worker(probeCtx, jobs, &workers)
	}
	for {
		for _, j := range s.dispatch() {
			jobs <- j // a worker is free: in-flight never exceeds the pool
		}
		s.mu.Lock()
		s.waiting = true
		timer := s.armed
		s.mu.Unlock()
		select {
		case <-timer:
			s.mu.Lock()
			s.waiting, s.armed = false, nil
			s.mu.Unlock()
		case <-s.wake:
			s.mu.Lock()
			s.waiting, s.wakes = false, 0
			s.mu.Unlock()
		case jr := <-s.results:
			s.handle(jr)
		case <-ctx.Done():
			s.setWaiting(false)
			return s.shutdown(jobs, &workers, abandon)
		}
	}
}

func (s *Scheduler) setWaiting(w bool) {
	s.mu.Lock()
	s.waiting = w
	s.mu.Unlock()
}

// worker runs probes. A panicking probe becomes a local failure instead of
// taking the agent down.
func (s *Scheduler) worker(ctx context.Context, jobs <-chan job, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := range jobs {
		s.results <- jobResult{e: j.e, r: s.runProbe(ctx, j.target)}
	}
}

func (s *Scheduler) runProbe(ctx context.Context, t Target) (r Result) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.Error("probe panicked", "tenant", t.TenantID, "panic", fmt.Sprint(p))
			r = Result{TenantID: t.TenantID, Time: s.opts.Clock.Now(), Outcome: OutcomeTransient, Local: true,
				Message: "local: probe panicked", Diagnosis: Diagnosis{Cause: CauseOther, Codes: []int{}, Values: map[string]string{}}}
		}
	}()
	return s.opts.Probe(ctx, t)
}

// dispatch takes every due tenant the pool can run now and arms the one
// timer for the earliest remaining one. During an identity-provider outage
// only a few tenants keep probing (enough to see the recovery); the rest of
// the backlog is pushed out and spread over the interval, so the recovery
// is not met with a burst.
func (s *Scheduler) dispatch() []job {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	limit := s.opts.MaxConcurrent
	if s.idp.down {
		limit = min(limit, s.opts.IdPMinTenants)
	}
	s.noticeClockJumpLocked(now)
	s.lastDispatch = now
	var batch []job
	for len(s.heap) > 0 && !s.heap[0].next.After(now) {
		e := s.heap[0]
		if s.inFlight >= limit {
			if !s.idp.down {
				break // wait for a worker; results wake the loop
			}
			s.heap.schedule(e, s.spreadAfterOutage(e, now))
			continue
		}
		s.heap.remove(e)
		e.inFlight = true
		s.inFlight++
		batch = append(batch, job{e: e, target: e.spec.Target})
	}
	if len(s.heap) > 0 && s.inFlight < limit {
		top := s.heap[0].next
		// Wake at least every maxArm: a clock set back must not leave the
		// timer armed for a deadline hours away.
		at := top
		if at.Sub(now) > maxArm {
			at = now.Add(maxArm)
		}
		if s.armed == nil || at.Before(s.armedAt) || s.armedAt.Sub(now) > maxArm {
			s.armed = s.opts.Clock.After(at.Sub(now))
			s.armedAt = at
		}
	}
	return batch
}

// maxArm bounds how long the scheduler sleeps without looking at the clock.
const maxArm = time.Minute

// spreadAfterOutage places a deferred tenant at a random point of its
// interval (never sooner than the initial backoff).
func (s *Scheduler) spreadAfterOutage(e *entry, now time.Time) time.Time {
	return now.Add(s.opts.BackoffInitial + s.rnd.uniform(s.interval(e)))
}

// handle applies one result: state, global condition, next probe time.
func (s *Scheduler) handle(jr jobResult) {
	s.mu.Lock()
	s.waiting = false
	e, r := jr.e, jr.r
	s.inFlight--
	e.inFlight = false
	id := e.spec.Target.TenantID
	if current := s.entries[lowerID(id)]; current != e {
		s.mu.Unlock() // removed (or removed and re-added) while in flight
		return
	}
	now := s.opts.Clock.Now()
	if r.Abandoned {
		s.heap.schedule(e, now)
		s.mu.Unlock()
		return
	}
	idpChanged := false
	if !r.NotEnrolled && !r.Local {
		idpChanged = s.idp.observe(lowerID(id), now, r.Outcome == OutcomeTransient)
	}
	prev := e.state
	e.state = s.debounce.transition(e, r, now, s.idp.down)
	e.last = r
	e.lastUpdate = now
	next := s.nextRegular(e, now)
	if r.Outcome == OutcomeTransient && !r.NotEnrolled {
		if s.idp.down {
			next = s.spreadAfterOutage(e, now)
		} else {
			e.backoff = nextBackoff(e.backoff, s.opts.BackoffInitial, s.opts.BackoffMax)
			next = now.Add(s.rnd.backoffDelay(e.backoff))
		}
	}
	if e.probeAgainAfter {
		e.probeAgainAfter = false
		next = now
	}
	s.heap.schedule(e, next)
	idp := s.idp.status()
	upd := Update{TenantID: lowerID(id), Name: e.spec.Target.DisplayName(), State: e.state, Previous: prev, Result: r, IdP: idp,
		ConsecutiveTransient: e.transients, NextProbe: next}
	if e.transients > 0 {
		upd.TransientSince = e.firstTransient
	}
	s.mu.Unlock()

	if idpChanged {
		if idp.Unreachable {
			s.opts.Logger.Warn("identity provider unreachable for most tenants", "probed", idp.Probed, "transient", idp.Transient)
		} else {
			s.opts.Logger.Info("identity provider reachable again", "probed", idp.Probed, "transient", idp.Transient)
		}
		if s.opts.OnIdP != nil {
			s.opts.OnIdP(idp)
		}
	}
	if upd.State != upd.Previous {
		s.opts.Logger.Info("tenant probe state changed", "tenant", upd.TenantID, "name", upd.Name,
			"from", upd.Previous, "to", upd.State, "cause", r.Diagnosis.Cause, "codes", r.Diagnosis.Codes)
	}
	if s.opts.OnUpdate != nil {
		s.opts.OnUpdate(upd)
	}
}

// shutdown lets in-flight probes finish within the grace period, then
// abandons the rest.
func (s *Scheduler) shutdown(jobs chan job, workers *sync.WaitGroup, abandon context.CancelFunc) error {
	grace := s.opts.Clock.After(s.opts.ShutdownGrace)
	if !s.drain(grace) {
		abandon()
		if !s.drain(time.After(s.opts.ShutdownGrace)) {
			s.mu.Lock()
			n := s.inFlight
			s.mu.Unlock()
			close(jobs)
			return fmt.Errorf("%d probe(s) ignored cancellation and were left running", n)
		}
	}
	close(jobs)
	workers.Wait()
	return nil
}

// drain handles results until none is in flight (true) or deadline fires.
func (s *Scheduler) drain(deadline <-chan time.Time) bool {
	for {
		s.mu.Lock()
		n := s.inFlight
		s.mu.Unlock()
		if n == 0 {
			return true
		}
		select {
		case jr := <-s.results:
			s.handle(jr)
		case <-deadline:
			return false
		}
	}
}

// settled reports that the loop is idle: blocked with nothing in flight,
// no wake-up pending and its timer not yet due. Every event the loop reacts
// to is visible here under the lock until the loop has taken it, so there
// is no window in which a received but unprocessed event looks idle. Tests
// advance a virtual clock only when settled.
func (s *Scheduler) settled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting && s.inFlight == 0 && s.wakes == 0 && (s.armed == nil || !s.timerDueLocked())
}

// timerDueLocked reports whether the armed timer has fired (its value may
// already be taken by the loop, which then clears s.armed under the lock).
// A clock that can tell (the Virtual clock) is asked: after it was set back
// the timer keeps its remaining wait, so armedAt, a reading of the old
// clock, no longer says when it fires.
func (s *Scheduler) timerDueLocked() bool {
	if p, ok := s.opts.Clock.(interface{ Pending(<-chan time.Time) bool }); ok {
		return !p.Pending(s.armed)
	}
	return !s.opts.Clock.Now().Before(s.armedAt)
}
