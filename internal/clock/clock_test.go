package clock

import (
	"testing"
	"time"
)

func TestVirtualAdvanceWakesWaiter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := NewVirtual(start, 0)
	ch := v.After(90 * 24 * time.Hour)
	select {
	case <-ch:
		t.Fatal("fired before the clock moved")
	default:
	}
	v.Advance(89 * 24 * time.Hour)
	select {
	case <-ch:
		t.Fatal("fired a day early")
	default:
	}
	v.Advance(24 * time.Hour)
	select {
	case got := <-ch:
		if want := start.Add(90 * 24 * time.Hour); got.Before(want) {
			t.Fatalf("fired at %v, want >= %v", got, want)
		}
	case <-time.After(time.Second):
		t.Fatal("did not fire after Advance reached the deadline")
	}
}

func TestVirtualRunsAtSpeed(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := NewVirtual(start, 3600) // one virtual hour per real second
	select {
	case <-v.After(time.Minute): // one real millisecond or so
	case <-time.After(2 * time.Second):
		t.Fatal("a virtual minute at 3600x did not pass within 2 real seconds")
	}
	if !v.Now().After(start) {
		t.Fatal("virtual time did not run")
	}
}

func TestVirtualSetSpeedFromFrozen(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := NewVirtual(start, 0)
	ch := v.After(time.Hour)
	time.Sleep(10 * time.Millisecond)
	if !v.Now().Equal(start) {
		t.Fatal("a frozen clock moved")
	}
	v.SetSpeed(36000) // an hour in 0.1 s
	select {
	case <-ch:
	case <-time.After(2 * time.Second):
		t.Fatal("a waiter armed while frozen did not fire after the clock started")
	}
}

// A clock set back delays no waiter: each keeps the wait it had left, as
// the monotonic timers behind time.After do when the wall clock is set back.
func TestVirtualSetBackKeepsRemainingWaits(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := NewVirtual(start, 0)
	minute := v.After(time.Minute)
	hour := v.After(time.Hour)
	v.Advance(30 * time.Second)
	if got := v.Advance(-3 * time.Hour); !got.Equal(start.Add(30*time.Second - 3*time.Hour)) {
		t.Fatalf("Advance(-3h) = %v, want the clock 3 h back", got)
	}
	v.Advance(29 * time.Second)
	select {
	case <-minute:
		t.Fatal("the one-minute waiter fired after 59 s")
	default:
	}
	v.Advance(time.Second) // 60 s of waiting in all, though the clock reads 3 h earlier
	select {
	case got := <-minute:
		if want := start.Add(time.Minute - 3*time.Hour); !got.Equal(want) {
			t.Fatalf("fired with %v, want %v", got, want)
		}
	case <-time.After(time.Second):
		t.Fatal("the one-minute waiter did not fire after a minute of waiting: the set-back delayed it")
	}
	v.Advance(59*time.Minute - time.Second)
	select {
	case <-hour:
		t.Fatal("the one-hour waiter fired a second early")
	default:
	}
	v.Advance(time.Second)
	select {
	case <-hour:
	case <-time.After(time.Second):
		t.Fatal("the one-hour waiter did not fire after an hour of waiting")
	}
}

// The same while the clock runs: a waiter armed on a real timer is re-armed
// for its remaining wait, not for the deadline the old reading implied.
func TestVirtualSetBackWhileRunning(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := NewVirtual(start, 600) // a virtual minute in 0.1 real s
	ch := v.After(time.Minute)
	v.Advance(-3 * time.Hour)
	select {
	case <-ch:
	case <-time.After(10 * time.Second): // 3 h would take 18 s; a minute takes 0.1 s
		t.Fatal("a one-minute waiter did not fire within 10 real seconds after the clock was set back 3 h")
	}
}

func TestVirtualPending(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := NewVirtual(start, 0)
	ch := v.After(time.Minute)
	if !v.Pending(ch) {
		t.Fatal("a waiter not yet due is not pending")
	}
	v.Advance(-time.Hour) // keeps its minute
	if !v.Pending(ch) {
		t.Fatal("a waiter is not pending after the clock was set back")
	}
	v.Advance(time.Minute)
	if v.Pending(ch) {
		t.Fatal("a fired waiter is still pending")
	}
	<-ch
	if v.Pending(ch) || v.Pending(v.After(0)) {
		t.Fatal("a received or immediate waiter is pending")
	}
}
