package e2etest

import (
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
)

// SimulatorOptions configure Simulator.
type SimulatorOptions struct {
	// SigningKeyBits is the simulator's RS256 key size; 0 keeps its
	// default. 1024 makes token grants for many tenants cheaper.
	SigningKeyBits int
	// Unlisted leaves the simulator without a listener, for a test that
	// serves sim.Handler() behind a front of its own.
	Unlisted bool
}

// Simulator starts the simulated tenants of sc on a virtual clock that
// follows the wall clock from now: the daemon under test runs on real
// time. It listens on 127.0.0.1 unless o.Unlisted, and closes with the test.
func Simulator(t testing.TB, sc *entrasim.Scenario, o SimulatorOptions) *entrasim.Server {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	sc.Start = now.Format(time.RFC3339)
	sim, err := entrasim.New(entrasim.Options{Scenario: sc, Clock: clock.NewVirtual(now, 1), SigningKeyBits: o.SigningKeyBits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if !o.Unlisted {
		if err := sim.Listen("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	return sim
}
