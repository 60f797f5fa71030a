package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as a Go duration string ("15m",
// "72h") or with a days suffix ("7d", "1d12h"), since token lifetimes and
// remember-MFA windows are naturally stated in days.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ParseDuration accepts Go duration strings plus a leading "Nd" days term.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	orig := s
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, badDuration(orig)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, badDuration(orig)
	}
	return days + v, nil
}

func badDuration(s string) error {
	return fmt.Errorf("invalid duration %q: use a number with a unit, such as 30s, 15m, 72h or 7d", s)
}

// UnmarshalYAML reads a duration string; a bare number is refused because
// its unit would be a guess.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration such as 15m or 7d, got a %s", kindWord(n))
	}
	if n.ShortTag() == "!!int" || n.ShortTag() == "!!float" {
		return fmt.Errorf("invalid duration %q: add a unit, such as %ss or %sm", n.Value, n.Value, n.Value)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML renders the shortest readable form, e.g. "15m", "72h", "1h30m".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func (d Duration) String() string { return formatDuration(time.Duration(d)) }

func formatDuration(v time.Duration) string {
	if v == 0 {
		return "0s"
	}
	s := v.String()
	// time.Duration prints "72h0m0s"; drop the zero tails.
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func kindWord(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// Jitter spreads probe start times: either a percentage of the interval
// ("10%") or a fixed duration ("90s").
type Jitter struct {
	Percent  float64       // 0..50 when given as a percentage
	Duration time.Duration // when given as a duration
}

// For returns the maximum jitter for a probe interval.
func (j Jitter) For(interval time.Duration) time.Duration {
	if j.Duration > 0 {
		return j.Duration
	}
	return time.Duration(float64(interval) * j.Percent / 100)
}

// UnmarshalYAML accepts "10%" or a duration.
func (j *Jitter) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a percentage such as 10%% or a duration such as 90s, got a %s", kindWord(n))
	}
	s := strings.TrimSpace(n.Value)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return fmt.Errorf("invalid jitter %q: expected a percentage such as 10%% or a duration such as 90s", n.Value)
		}
		*j = Jitter{Percent: v}
		return nil
	}
	v, err := ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid jitter %q: expected a percentage such as 10%% or a duration such as 90s", n.Value)
	}
	*j = Jitter{Duration: v}
	return nil
}

// MarshalYAML renders the form it was written in.
func (j Jitter) MarshalYAML() (any, error) { return j.String(), nil }

func (j Jitter) String() string {
	if j.Duration > 0 {
		return formatDuration(j.Duration)
	}
	return strconv.FormatFloat(j.Percent, 'f', -1, 64) + "%"
}
