package notify

import (
	"fmt"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// BenchmarkTickThousandTenantsNoChange measures the periodic re-check of
// 1000 tenants with two firing alerts each when nothing changed: the
// notifier's steady state, run every TickInterval (30 s).
func BenchmarkTickThousandTenantsNoChange(b *testing.B) {
	h := newHarness(&testing.T{}, []string{"chat", "am"}, func(o *Options) { o.Receivers[1].Delivery = PerAlert })
	defer h.db.Close()
	for i := range 1000 {
		tn := fmt.Sprintf("tenant-%04d", i)
		h.eval(tn, finding(tn, health.KindTokenFailing, health.SeverityCritical, ""), finding(tn, health.KindPolicyDrift, health.SeverityWarning, "p"))
	}
	b.ResetTimer()
	for b.Loop() {
		if err := h.n.Tick(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateUnchangedTenant measures one tenant evaluation whose
// findings did not change (every probe of a healthy fleet).
func BenchmarkEvaluateUnchangedTenant(b *testing.B) {
	h := newHarness(&testing.T{}, []string{"chat"}, nil)
	defer h.db.Close()
	fs := []health.Finding{finding("t1", health.KindPredictedBreak, health.SeverityWarning, "p")}
	fs[0].PredictedAt = t0.Add(48 * time.Hour)
	h.eval("t1", fs...)
	b.ResetTimer()
	for b.Loop() {
		if err := h.n.Evaluate("t1", fs); err != nil {
			b.Fatal(err)
		}
	}
}
