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
