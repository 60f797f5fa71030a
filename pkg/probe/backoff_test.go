package probe

import (
	"testing"
	"time"
)

func TestNextBackoff(t *testing.T) {
	var got []time.Duration
	b := time.Duration(0)
	for range 7 {
		b = nextBackoff(b, time.Minute, 15*time.Minute)
		got = append(got, b)
	}
	want := []time.Duration{1, 2, 4, 8, 15, 15, 15}
	for i := range want {
		if got[i] != want[i]*time.Minute {
			t.Fatalf("backoff sequence %v, want %v minutes", got, want)
		}
	}
	if b := nextBackoff(0, 30*time.Minute, 15*time.Minute); b != 15*time.Minute {
		t.Errorf("initial above max: %s, want the max", b)
	}
}

func TestJitterBounds(t *testing.T) {
	j := newJitterer(1)
	for range 10000 {
		if d := j.around(10*time.Minute, time.Minute); d < 9*time.Minute || d > 11*time.Minute {
			t.Fatalf("around(10m, 1m) = %s", d)
		}
		if d := j.backoffDelay(4 * time.Minute); d < 2*time.Minute || d > 4*time.Minute {
			t.Fatalf("backoffDelay(4m) = %s", d)
		}
		if d := j.uniform(time.Second); d < 0 || d >= time.Second {
			t.Fatalf("uniform(1s) = %s", d)
		}
	}
	if d := j.around(time.Minute, 0); d != time.Minute {
		t.Errorf("no jitter: %s", d)
	}
}
