package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// stormSpec misbehaves on about 30% of requests: connection resets,
// hangs until the client's deadline, 429s (with or without Retry-After),
// 5xx, and a slow answer on every request that gets one.
func stormSpec(retryAfter int) entrasim.FaultSpec {
	return entrasim.FaultSpec{
		ResetRate: 0.05, TimeoutRate: 0.03, ThrottleRate: 0.12, RetryAfter: retryAfter,
		ErrorRate: 0.12, ErrorStatus: 502, Latency: 20 * time.Millisecond, Jitter: 400 * time.Millisecond,
	}
}

// TestFaultStormForAVirtualDay: a virtual day with 30% of token and Graph
// requests failing in every transient way. No tenant may get a definitive
// verdict, every attempt must end within the probe timeout, and the
// backoff must show in the metrics.
func TestFaultStormForAVirtualDay(t *testing.T) {
	sc, mixOf := scenarioOf(48, mixHealthy, mixReportOnly) // 8 tenants
	const probeTimeout = 2 * time.Second                   // real time: the hangs last this long
	w := newWorld(t, worldOptions{Scenario: sc, MixOf: mixOf, Global: "  probe_timeout: 2s\n"})
	w.run(2880) // a virtual day in 30 real seconds
	w.eventually("every tenant has its true verdict", 30*time.Second, w.atTrueVerdicts)
	start := w.clk.Now()
	end := start.Add(24 * time.Hour)

	// Alternate 429s with and without Retry-After every virtual two hours.
	stormOn := func(retryAfter int) {
		w.sim.Faults().Set(entrasim.ClassToken, stormSpec(retryAfter))
		w.sim.Faults().Set(entrasim.ClassGraph, stormSpec(retryAfter))
	}
	stormOn(5)
	withHeader := true
	nextSwitch := start.Add(2 * time.Hour)
	maxBackoff := 0.0
	for w.clk.Now().Before(end) {
		for id, ts := range w.statuses() {
			// Unreachable is the storm's honest answer; any other state
			// than the true verdict (a prediction entering its lead time
			// counts as one) is a false verdict.
			if ts.State != health.StateUnreachable && !w.atVerdict(ts) {
				t.Fatalf("tenant %s (mix %d) is %s (%s) at virtual +%s of the storm, want %s", id, w.mixOf[id], ts.State, ts.Cause,
					w.clk.Now().Sub(start).Round(time.Minute), w.trueVerdict(id))
			}
		}
		maxBackoff = maxf(maxBackoff, w.maxGauge("tokenhealth_tenant_backoff_seconds"))
		if w.clk.Now().After(nextSwitch) {
			withHeader = !withHeader
			if withHeader {
				stormOn(5)
			} else {
				stormOn(-1)
			}
			nextSwitch = nextSwitch.Add(2 * time.Hour)
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.sim.Faults().Clear(entrasim.ClassToken)
	w.sim.Faults().Clear(entrasim.ClassGraph)

	ok := w.metric("tokenhealth_probes_total", map[string]string{"outcome": "ok"})
	transient := w.metric("tokenhealth_probes_total", map[string]string{"outcome": "transient"})
	definitive := w.metric("tokenhealth_probes_total", map[string]string{"outcome": "definitive"})
	t.Logf("storm day: %v ok, %v transient, %v definitive probes; largest backoff seen %v s; graph throttled %v, graph errors %v",
		ok, transient, definitive, maxBackoff, w.metric("tokenhealth_graph_throttled_total", nil), w.metric("tokenhealth_graph_errors_total", nil))
	if definitive != 0 {
		t.Errorf("%v definitive verdicts from transient faults", definitive)
	}
	if transient == 0 || ok == 0 {
		t.Errorf("the storm was not seen: %v ok, %v transient probes", ok, transient)
	}
	if maxBackoff < 30 {
		t.Errorf("largest tenant backoff in the metrics %v s: backoff after transient failures is not visible", maxBackoff)
	}

	// Deadlines: no recorded attempt outlasted the probe timeout.
	var attempts, slowest int
	for id := range w.mixOf {
		h, err := w.agent.History(context.Background(), id, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range h.Probes {
			attempts++
			slowest = max(slowest, int(ev.LatencyMS))
			if time.Duration(ev.LatencyMS*float64(time.Millisecond)) > probeTimeout+time.Second {
				t.Errorf("tenant %s attempt at %s took %.0f ms, above the %s probe timeout", id, ev.Time, ev.LatencyMS, probeTimeout)
			}
		}
	}
	t.Logf("%d recorded attempts, slowest %d ms (timeout %s)", attempts, slowest, probeTimeout)

	// Once the storm ends every tenant returns to its true verdict.
	w.eventually("every tenant back to its true verdict", 30*time.Second, w.atTrueVerdicts)
}
