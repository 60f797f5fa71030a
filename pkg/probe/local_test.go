package probe

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/store"
)

// brokenStore fails every read, as a state file sealed with another key
// would.
type brokenStore struct{ StateStore }

func (brokenStore) GetJSON(string, string, any) (bool, error) {
	return false, errors.New("the state key does not match the state file")
}

func TestLocalFailureSaysNothingAboutTheToken(t *testing.T) {
	env := newSimEnv(t, false)
	p, err := NewProber(ProberOptions{Store: brokenStore{env.db}, HTTP: env.http, Clock: env.clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	res := p.Probe(context.Background(), env.target(simTenant, simUser))
	if !res.Local || res.Outcome != OutcomeTransient || !strings.HasPrefix(res.Message, "local: enrollment record of tenant "+simTenant) {
		t.Fatalf("result = %+v", res)
	}
}

// TestLocalFailuresDoNotRaiseTheIdPCondition: the agent's own broken state
// file is neither an identity-provider outage nor a tenant's problem.
func TestLocalFailuresDoNotRaiseTheIdPCondition(t *testing.T) {
	v := clock.NewVirtual(schedStart, 0)
	s, err := NewScheduler(SchedulerOptions{Clock: v, Seed: 3, Logger: slog.New(slog.DiscardHandler), StartSpread: time.Second,
		UnreachableAfterFailures: 2, UnreachableAfter: 2 * time.Minute,
		Probe: func(_ context.Context, tg Target) Result {
			return Result{TenantID: tg.TenantID, Time: v.Now(), Outcome: OutcomeTransient, Local: true, Message: "local: disk full"}
		}})
	if err != nil {
		t.Fatal(err)
	}
	s.Set(specs(0, 10))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	h := &harness{t: t, v: v, s: s}
	h.settle()
	h.advance(20*time.Minute, 10*time.Second)
	if st := s.IdP(); st.Unreachable || st.Probed != 0 {
		t.Errorf("IdP status after local failures: %+v, want untouched", st)
	}
	for _, st := range s.Status() {
		if st.State != StatePending {
			t.Errorf("tenant %s became %s from local failures", st.TenantID, st.State)
		}
	}
	cancel()
	v.Advance(time.Minute)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

var _ StateStore = brokenStore{(*store.DB)(nil)}
