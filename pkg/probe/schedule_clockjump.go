package probe

import "time"

// Clock jumps. Every wait the scheduler computes is "clock reading plus a
// duration", so the schedule follows the clock. With the wall clock
// (time.Now carries a monotonic reading, and comparisons use it) a jump
// moves nothing; a clock without monotonic readings (the Virtual clock the
// agent shares with the simulated tenants) shows the jump to the schedule
// as it is. Two rules keep a jump harmless either way:
//
//   - Set back: a probe planned on the old reading would wait the jump on
//     top of its interval. Every probe now further ahead than the scheduler
//     ever waits keeps the wait it had left at the last look at the clock,
//     so every tenant is probed within its interval of the new reading and
//     the spread of the schedule survives (no burst).
//   - Jumped forward (or the host was suspended): everything planned in the
//     gap is overdue at once. The overdue probes are spread over
//     StartSpread, as at start-up, instead of firing as one burst.
//
// The loop looks at the clock at least every maxArm, so a reading more
// than clockJumpTolerance outside [last, last+maxArm] is a jump.
const clockJumpTolerance = time.Minute

// noticeClockJumpLocked compares now with the reading of the last dispatch
// and applies the rules above. Called by dispatch before it takes due
// tenants.
func (s *Scheduler) noticeClockJumpLocked(now time.Time) {
	if s.lastDispatch.IsZero() {
		return
	}
	switch gap := now.Sub(s.lastDispatch); {
	case gap < -clockJumpTolerance:
		s.afterSetBackLocked(now, gap)
	case gap > maxArm+clockJumpTolerance:
		s.afterJumpForwardLocked(now, gap)
	}
}

// afterSetBackLocked gives every probe planned too far ahead the wait it
// had left when the clock was last read (gap is negative: the jump plus
// the little real time since). The result is capped at the longest wait
// the scheduler gives the tenant.
func (s *Scheduler) afterSetBackLocked(now time.Time, gap time.Duration) {
	var late []*entry
	for _, e := range s.heap {
		if e.next.Sub(now) > s.longestWait(e) {
			late = append(late, e)
		}
	}
	for _, e := range late {
		at := e.next.Add(gap)
		if limit := now.Add(s.longestWait(e)); at.After(limit) {
			at = limit
		}
		if at.Before(now) {
			at = now
		}
		s.heap.schedule(e, at)
	}
	if len(late) > 0 {
		s.opts.Logger.Warn("the clock was set back; probes planned on the old reading keep the wait they had left",
			"set_back", (-gap).Round(time.Second).String(), "tenants", len(late))
	}
}

// afterJumpForwardLocked spreads the probes the jump made overdue.
func (s *Scheduler) afterJumpForwardLocked(now time.Time, gap time.Duration) {
	var late []*entry
	for _, e := range s.heap {
		if e.next.Before(now) {
			late = append(late, e)
		}
	}
	if len(late) < 2 { // one probe is no burst
		return
	}
	for _, e := range late {
		s.heap.schedule(e, now.Add(s.rnd.uniform(s.opts.StartSpread)))
	}
	s.opts.Logger.Warn("the clock jumped forward (or the host was suspended); overdue probes are spread",
		"gap", gap.Round(time.Second).String(), "tenants", len(late), "over", s.opts.StartSpread.String())
}

// longestWait is the longest the scheduler itself makes the tenant wait:
// its interval plus jitter, a spread after an outage, the longest backoff
// or the start-up spread.
func (s *Scheduler) longestWait(e *entry) time.Duration {
	iv := s.interval(e)
	return max(iv+s.jitterFor(iv), s.opts.BackoffInitial+iv, s.opts.BackoffMax, s.opts.StartSpread)
}
