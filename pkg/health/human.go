package health

import (
	"fmt"
	"strings"
	"time"
)

// HumanDuration renders a duration the way an operator reads it: the two
// largest units, e.g. "1 d 4 h", "3 h 20 min", "45 s".
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d < time.Second {
		return "0 s"
	}
	units := []struct {
		name string
		size time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"min", time.Minute}, {"s", time.Second}}
	var parts []string
	for _, u := range units {
		if d >= u.size {
			parts = append(parts, fmt.Sprintf("%d %s", d/u.size, u.name))
			d %= u.size
		} else if len(parts) > 0 {
			break // "1 d 0 h 5 min" reads worse than "1 d"
		}
		if len(parts) == 2 {
			break
		}
	}
	return strings.Join(parts, " ")
}

// Relative renders t against now: "in 1 d 4 h", "3 h 20 min ago", "now".
func Relative(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := t.Sub(now)
	switch {
	case d > -time.Second && d < time.Second:
		return "now"
	case d > 0:
		return "in " + HumanDuration(d)
	default:
		return HumanDuration(d) + " ago"
	}
}
