package health

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	cases := map[time.Duration]string{
		0:                "0 s",
		45 * time.Second: "45 s",
		3*time.Hour + 20*time.Minute + 5*time.Second: "3 h 20 min",
		28 * time.Hour:               "1 d 4 h",
		24*time.Hour + 5*time.Minute: "1 d",
		-90 * time.Minute:            "1 h 30 min",
		90 * 24 * time.Hour:          "90 d",
	}
	for d, want := range cases {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := Relative(now.Add(28*time.Hour), now); got != "in 1 d 4 h" {
		t.Errorf("Relative future = %q", got)
	}
	if got := Relative(now.Add(-2*time.Hour), now); got != "2 h ago" {
		t.Errorf("Relative past = %q", got)
	}
	if got := Relative(time.Time{}, now); got != "never" {
		t.Errorf("Relative zero = %q", got)
	}
}
