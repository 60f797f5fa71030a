package graph

import (
	"context"
	"testing"
)

// The throttling benchmarks run the real SDK against the simulator's
// published limits on a virtual clock running 20x real time, and report
// throughput in reads per VIRTUAL second (what Graph counts) and 429s per
// read. Run with a fixed count, e.g.:
//
//	go test -run '^$' -bench Throttle -benchtime 20x ./internal/graph/
func BenchmarkCAReadsUnderThrottle(b *testing.B) {
	benchThrottled(b, func(r *Reader, ctx context.Context) error { _, err := r.NamedLocations(ctx); return err },
		"ca", func(l *Limits) { l.CAPerSecond = 1000 })
}

func BenchmarkSignInReadsUnderThrottle(b *testing.B) {
	benchThrottled(b, func(r *Reader, ctx context.Context) error {
		_, err := r.SignIns(ctx, SignInQuery{UserID: fxUser})
		return err
	}, "signIns", func(l *Limits) { l.SignInsPerWindow = 1000 })
}

// benchThrottled compares the budget at Graph's limits with a budget
// configured far above them (only the 429 backoff protects the tenant).
func benchThrottled(b *testing.B, read func(*Reader, context.Context) error, bucket string, unlimited func(*Limits)) {
	for _, tc := range []struct {
		name   string
		limits func() Limits
	}{
		{"budget", DefaultLimits},
		{"backoff-only", func() Limits { l := DefaultLimits(); unlimited(&l); l.Headroom = 0; return l }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnvSpeed(b, modeA, 20)
			r := e.reader(e.enroll(fxApp), tc.limits())
			ctx := context.Background()
			before := e.sim.GraphStats()
			start := e.clock.Now()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := read(r, ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			virtual := e.clock.Now().Sub(start).Seconds()
			after := e.sim.GraphStats()
			b.ReportMetric(float64(b.N)/virtual, "reads/virtual-s")
			b.ReportMetric(float64(after.Throttled[bucket]-before.Throttled[bucket])/float64(b.N), "429s/read")
		})
	}
}
