package graph

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func TestBudgetPacesEachBucket(t *testing.T) {
	for _, tc := range []struct {
		bucket Bucket
		n      int
		want   []time.Duration // waits on a frozen clock
	}{
		// 1/s with 10% headroom: one now, then every 1.11 s.
		{BucketCA, 3, []time.Duration{0, 1111111111, 2222222222}},
		// 5 per 10 s: a burst of 5, then one every 2.22 s.
		{BucketSignIns, 7, []time.Duration{0, 0, 0, 0, 0, 2222222222, 4444444444}},
		{BucketDirectory, 2, []time.Duration{0, 0}},
	} {
		t.Run(string(tc.bucket), func(t *testing.T) {
			b := NewBudget(clock.NewVirtual(t0, 0), DefaultLimits())
			var got []time.Duration
			for range tc.n {
				got = append(got, b.reserve(tc.bucket).Round(time.Nanosecond))
			}
			for i := range got {
				if diff := got[i] - tc.want[i]; diff < -time.Microsecond || diff > time.Microsecond {
					t.Fatalf("waits %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestBudgetBacksOffAfter429(t *testing.T) {
	vc := clock.NewVirtual(t0, 0)
	b := NewBudget(vc, DefaultLimits())
	var got []time.Duration
	for range 3 {
		got = append(got, b.throttled(BucketCA, 0, false))
	}
	got = append(got, b.throttled(BucketCA, 7*time.Second, true))
	b.succeeded(BucketCA)
	got = append(got, b.throttled(BucketCA, 0, false))
	// The interval of 1 request/s with 10% headroom is 1.11 s.
	want := []time.Duration{1111111111, 2222222222, 4444444444, 7 * time.Second, 1111111111}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("backoffs %v, want %v (doubling without Retry-After, Retry-After wins, reset on success)", got, want)
	}
	// The 429 blocked the bucket for 1.11 s and emptied it: the next
	// request waits for a fresh token, also 1.11 s.
	if w := b.reserve(BucketCA); w < 1111*time.Millisecond || w > 1112*time.Millisecond {
		t.Errorf("a request right after a 429 waits %v, want about 1.11 s", w)
	}
	capped := DefaultLimits()
	capped.MaxBackoff = 3 * time.Second
	b = NewBudget(vc, capped)
	for range 5 {
		b.throttled(BucketSignIns, 0, false)
	}
	if d := b.throttled(BucketSignIns, 0, false); d != 3*time.Second {
		t.Errorf("backoff %v, want the 3 s cap", d)
	}
}

func TestBudgetWaitFollowsTheClockAndContext(t *testing.T) {
	vc := clock.NewVirtual(t0, 0)
	b := NewBudget(vc, DefaultLimits())
	if err := b.Wait(context.Background(), BucketCA); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Wait(context.Background(), BucketCA) }()
	select {
	case err := <-done:
		t.Fatalf("second CA request did not wait for the clock: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	vc.Advance(2 * time.Second)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("advancing the virtual clock did not release the waiter")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx, BucketCA); err != context.Canceled {
		t.Errorf("cancelled wait: %v, want context.Canceled", err)
	}
}

func TestParseRetryAfterAndBuckets(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"0", 0, true}, {"2", 2 * time.Second, true}, {"1.5", 1500 * time.Millisecond, true},
		{"soon", 0, false}, {"-3", 0, false},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0, true},
	} {
		if got, ok := parseRetryAfter(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for path, want := range map[string]Bucket{
		"/v1.0/identity/conditionalAccess/policies":       BucketCA,
		"/beta/identity/conditionalAccess/namedLocations": BucketCA,
		"/v1.0/identity/conditionalAccess/evaluate":       BucketCA,
		"/beta/auditLogs/signIns":                         BucketSignIns,
		"/v1.0/users/x/transitiveMemberOf/graph.group":    BucketDirectory,
		"/v1.0/domains": BucketDirectory,
	} {
		if got := bucketFor(path); got != want {
			t.Errorf("bucketFor(%s) = %s, want %s", path, got, want)
		}
	}
}

func TestLimitsValidation(t *testing.T) {
	for _, tc := range []struct {
		mutate func(*Limits)
		want   string
	}{
		{func(l *Limits) { l.CAPerSecond = 0 }, "limits: CAPerSecond 0 must be positive"},
		{func(l *Limits) { l.SignInWindow = 0 }, "limits: SignInsPerWindow 5 per 0s must both be positive"},
		{func(l *Limits) { l.DirectoryPerWindow = -1 }, "limits: DirectoryPerWindow -1 per 10s must both be positive"},
		{func(l *Limits) { l.MaxThrottleRetries = -1 }, "limits: MaxThrottleRetries -1 must not be negative"},
		{func(l *Limits) { l.Headroom = 1 }, "limits: Headroom 1: want 0 <= headroom < 1"},
	} {
		l := DefaultLimits()
		tc.mutate(&l)
		if err := l.validate(); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// TestBudgetIdleOnceEveryBucketRefilled: a budget is idle when new, busy
// while any bucket is short of tokens, closed by a 429 or backing off, and
// idle again once time has refilled it and a success cleared the backoff.
func TestBudgetIdleOnceEveryBucketRefilled(t *testing.T) {
	vc := clock.NewVirtual(t0, 0)
	b := NewBudget(vc, DefaultLimits())
	steps := []struct {
		name string
		do   func()
		idle bool
	}{
		{"new", func() {}, true},
		{"a directory read", func() { b.reserve(BucketDirectory) }, false},
		{"10 s later", func() { vc.Advance(10 * time.Second) }, true},
		{"a CA read", func() { b.reserve(BucketCA) }, false},
		{"1 s later (1.11 s to refill)", func() { vc.Advance(time.Second) }, false},
		{"0.12 s later", func() { vc.Advance(120 * time.Millisecond) }, true},
		{"a 429 with Retry-After 60 s", func() { b.throttled(BucketSignIns, time.Minute, true) }, false},
		{"61 s later", func() { vc.Advance(61 * time.Second) }, true},
		{"a 429 without Retry-After", func() { b.throttled(BucketCA, 0, false) }, false},
		{"a minute later, backoff not cleared", func() { vc.Advance(time.Minute) }, false},
		{"a success", func() { b.succeeded(BucketCA) }, true},
	}
	for _, st := range steps {
		st.do()
		if got := b.Idle(); got != st.idle {
			t.Errorf("%s: Idle() = %v, want %v", st.name, got, st.idle)
		}
	}
}
