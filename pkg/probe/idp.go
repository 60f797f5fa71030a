package probe

import "time"

// IdPStatus is the global "identity provider unreachable" condition: most
// tenants failing transiently at once is one outage (or our own network),
// not a thousand tenant failures. The agent turns it into a single
// health.KindIdPUnreachable finding and holds back per-tenant transient
// alerts while it lasts.
type IdPStatus struct {
	Unreachable bool      `json:"unreachable"`
	Since       time.Time `json:"since,omitzero"`
	// Probed and Transient count tenants whose latest attempt in the window
	// was any outcome, and a transient failure.
	Probed    int `json:"probed"`
	Transient int `json:"transient"`
}

// idpDetector keeps each tenant's latest outcome within a sliding window
// and counts, in O(1) per attempt, how many of those are transient.
type idpDetector struct {
	window   time.Duration
	minProbe int
	fraction float64

	events []idpEvent // in time order; head is the oldest still held
	head   int
	latest map[string]uint64 // tenant -> seq of its latest event
	seq    uint64

	probed, transient int
	down              bool
	since             time.Time
}

type idpEvent struct {
	seq       uint64
	tenant    string
	at        time.Time
	transient bool
}

func newIdPDetector(window time.Duration, minProbe int, fraction float64) *idpDetector {
	return &idpDetector{window: window, minProbe: minProbe, fraction: fraction, latest: map[string]uint64{}}
}

// observe records an attempt and reports whether the global condition
// changed.
func (d *idpDetector) observe(tenant string, at time.Time, transient bool) bool {
	d.expire(at)
	if seq, ok := d.latest[tenant]; ok {
		// The tenant's previous event stops counting; it stays in the
		// deque but is skipped at expiry because it is no longer latest.
		prev := d.events[d.indexOf(seq)]
		d.probed--
		if prev.transient {
			d.transient--
		}
	}
	d.seq++
	d.events = append(d.events, idpEvent{seq: d.seq, tenant: tenant, at: at, transient: transient})
	d.latest[tenant] = d.seq
	d.probed++
	if transient {
		d.transient++
	}
	return d.evaluate(at)
}

// indexOf finds an event by sequence number: sequence numbers are dense
// from the head, so this is arithmetic, not a search.
func (d *idpDetector) indexOf(seq uint64) int {
	return d.head + int(seq-d.events[d.head].seq)
}

// expire drops events older than the window.
func (d *idpDetector) expire(now time.Time) {
	cutoff := now.Add(-d.window)
	for d.head < len(d.events) && d.events[d.head].at.Before(cutoff) {
		ev := d.events[d.head]
		if d.latest[ev.tenant] == ev.seq {
			delete(d.latest, ev.tenant)
			d.probed--
			if ev.transient {
				d.transient--
			}
		}
		d.head++
	}
	// Compact once the dead prefix dominates, keeping appends amortised O(1).
	if d.head > 1024 && d.head*2 > len(d.events) {
		d.events = append(d.events[:0], d.events[d.head:]...)
		d.head = 0
	}
}

// evaluate updates the condition; it reports whether it changed.
func (d *idpDetector) evaluate(now time.Time) bool {
	var down bool
	if d.down {
		// Hysteresis: once raised, the condition clears only when successes
		// bring the share below the threshold. While it lasts few tenants
		// are probed, so the minimum count must not end it by itself.
		down = d.probed == 0 || float64(d.transient) >= d.fraction*float64(d.probed)
	} else {
		down = d.probed >= d.minProbe && float64(d.transient) >= d.fraction*float64(d.probed)
	}
	if down == d.down {
		return false
	}
	d.down = down
	if down {
		d.since = now
	} else {
		d.since = time.Time{}
	}
	return true
}

// forget removes a tenant that left the configuration.
func (d *idpDetector) forget(tenant string, now time.Time) bool {
	seq, ok := d.latest[tenant]
	if !ok {
		return false
	}
	if d.events[d.indexOf(seq)].transient {
		d.transient--
	}
	d.probed--
	delete(d.latest, tenant)
	return d.evaluate(now)
}

func (d *idpDetector) status() IdPStatus {
	return IdPStatus{Unreachable: d.down, Since: d.since, Probed: d.probed, Transient: d.transient}
}
