// Package clock lets the agent and the simulated tenants share one notion of
// time. Production uses the wall clock; tests and the demo use a Virtual clock
// that can run faster than real time and jump forward, so that 90 days of
// token life pass in milliseconds.
package clock

import (
	"sync"
	"time"
)

// Clock is the time source every time-dependent component takes.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once the clock has advanced by d.
	After(d time.Duration) <-chan time.Time
}

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time                         { return time.Now() }
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Virtual runs at Speed times real time from a chosen start and can be moved
// with Advance. Waiters fire as soon as virtual time reaches their deadline,
// whether time got there by running or by a jump forward. A jump back is a
// clock being set back, which delays no timer: After in production waits on
// the monotonic clock, so its waiters keep the wait they had left.
type Virtual struct {
	mu        sync.Mutex
	base      time.Time // virtual time at realStart
	realStart time.Time
	speed     float64
	waiters   map[*waiter]struct{}
}

type waiter struct {
	deadline time.Time
	ch       chan time.Time
	timer    *time.Timer
}

// NewVirtual starts a virtual clock at start running speed times faster than
// real time (speed 0 freezes it: only Advance moves it).
func NewVirtual(start time.Time, speed float64) *Virtual {
	if speed < 0 {
		speed = 0
	}
	return &Virtual{base: start, realStart: time.Now(), speed: speed, waiters: map[*waiter]struct{}{}}
}

// Now returns the current virtual time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.nowLocked()
}

func (v *Virtual) nowLocked() time.Time {
	elapsed := time.Since(v.realStart)
	return v.base.Add(time.Duration(float64(elapsed) * v.speed))
}

// Speed reports how many virtual seconds pass per real second.
func (v *Virtual) Speed() float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.speed
}

// SetSpeed changes how fast virtual time runs from now on (0 freezes it).
// The demo freezes time while it enrolls tenants, then lets it run.
func (v *Virtual) SetSpeed(speed float64) {
	if speed < 0 {
		speed = 0
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.base = v.nowLocked()
	v.realStart = time.Now()
	v.speed = speed
	now := v.base
	for w := range v.waiters {
		v.armLocked(w, now)
	}
}

// Advance moves virtual time forward by d and wakes every waiter now due.
// A negative d sets the clock back (tests simulate a wall-clock jump): Now
// goes back by -d, but every waiter keeps the time it had left to wait,
// as a timer of the real clock does. Without this, a loop sleeping one
// minute would sleep -d plus a minute, which no production timer does.
func (v *Virtual) Advance(d time.Duration) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.base = v.base.Add(d)
	now := v.nowLocked()
	for w := range v.waiters {
		if d < 0 {
			w.deadline = w.deadline.Add(d)
		}
		if !now.Before(w.deadline) {
			v.fireLocked(w, now)
		} else {
			v.armLocked(w, now)
		}
	}
	return now
}

// After implements Clock.
func (v *Virtual) After(d time.Duration) <-chan time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.nowLocked()
	w := &waiter{deadline: now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		w.ch <- now
		return w.ch
	}
	v.waiters[w] = struct{}{}
	v.armLocked(w, now)
	return w.ch
}

// Pending reports whether ch, a channel After returned, is still waiting
// for its deadline (false once it has fired). A clock set back moves the
// deadlines, so only the clock can tell; tests use it to know a loop is
// idle.
func (v *Virtual) Pending(ch <-chan time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for w := range v.waiters {
		if w.ch == ch {
			return true
		}
	}
	return false
}

// armLocked (re)starts the real timer that will fire w when virtual time,
// running at speed, reaches its deadline. A frozen clock arms no timer.
func (v *Virtual) armLocked(w *waiter, now time.Time) {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	if v.speed == 0 {
		return
	}
	real := time.Duration(float64(w.deadline.Sub(now)) / v.speed)
	w.timer = time.AfterFunc(real, func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		if _, ok := v.waiters[w]; !ok {
			return
		}
		now := v.nowLocked()
		if now.Before(w.deadline) { // rounding: not yet due, try again
			v.armLocked(w, now)
			return
		}
		v.fireLocked(w, now)
	})
}

func (v *Virtual) fireLocked(w *waiter, now time.Time) {
	if w.timer != nil {
		w.timer.Stop()
	}
	delete(v.waiters, w)
	w.ch <- now
}
