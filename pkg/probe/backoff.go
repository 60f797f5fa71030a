package probe

import (
	"math/rand/v2"
	"time"
)

// jitterer draws the random parts of the schedule. It is used only by the
// scheduler loop, so it needs no lock.
type jitterer struct{ r *rand.Rand }

func newJitterer(seed uint64) jitterer {
	return jitterer{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// uniform returns a duration in [0, d).
func (j jitterer) uniform(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(j.r.Int64N(int64(d)))
}

// around returns interval moved by up to ±spread, so tenants enrolled
// together drift apart instead of probing in lockstep.
func (j jitterer) around(interval, spread time.Duration) time.Duration {
	if spread <= 0 {
		return interval
	}
	return interval - spread + j.uniform(2*spread+1)
}

// nextBackoff doubles the previous backoff from initial up to max.
func nextBackoff(prev, initial, max time.Duration) time.Duration {
	if prev <= 0 {
		return min(initial, max)
	}
	if prev >= max/2 {
		return max
	}
	return prev * 2
}

// backoffDelay is "equal jitter": half the backoff fixed, half random, so
// retries spread out but never come back sooner than half the backoff.
func (j jitterer) backoffDelay(backoff time.Duration) time.Duration {
	half := backoff / 2
	return half + j.uniform(backoff-half+1)
}
