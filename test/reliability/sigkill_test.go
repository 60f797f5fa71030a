package reliability

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// soakInt reads a count from the environment (make soak raises it).
func soakInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestSIGKILLUnderLoad kills the daemon at random moments while it probes
// 50 tenants on a one-minute interval and delivers their alerts. Every
// restart must open the state file, resume every verdict at once (a
// failing tenant is failing, not pending), redeem the cached tokens
// without re-enrollment, and deliver every alert exactly once.
func TestSIGKILLUnderLoad(t *testing.T) {
	kills := soakInt("TOKENHEALTH_SOAK_KILLS", 50)
	sc, mixOf := scenarioOf(100, mixHealthy, mixReportOnly, mixEveryTime)
	d := newDaemon(t, sc, mixOf, "")
	d.enrollAll()
	d.start()
	settled := d.settle(150 * time.Second)
	d.kill()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var lifetimes time.Duration
	for i := range kills {
		d.start()
		// Right after the restart, before any new probe: nothing regressed.
		after := d.states()
		for id, want := range settled {
			if after[id] != want {
				t.Fatalf("kill %d: tenant %s (mix %d) is %q right after restart, was %s\n%s", i, id, d.mixOf[id], after[id], want, d.logs.tail(30))
			}
		}
		life := time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
		lifetimes += life
		time.Sleep(life)
		d.kill()
	}

	finalStart := time.Now()
	d.start()
	if out, code := d.cli("db", "backup", "--socket", d.sock, "--state", d.state, d.dir+"/after-kills.db"); code != 0 {
		t.Fatalf("backup after %d kills: exit %d\n%s", kills, code, out)
	}
	if out, code := d.cli("db", "check", "--state", d.dir+"/after-kills.db", "--key-file", d.dir+"/state.key"); code != 0 {
		t.Fatalf("db check after %d kills: exit %d\n%s", kills, code, out)
	}
	// Token caches intact: every tenant whose token works redeems it again
	// after the last restart, with no re-enrollment.
	d.eventually("every working token redeemed after the last restart", 150*time.Second, func() bool {
		st, err := d.status()
		if err != nil {
			return false
		}
		for _, ts := range st.Tenants {
			if ts.State != settled[ts.ID] {
				return false
			}
			if ts.State != health.StateFailing && !ts.LastRefresh.After(finalStart) {
				return false
			}
		}
		return true
	})
	time.Sleep(3 * time.Second)
	d.stop()

	perAlert, redelivered := d.hook.deliveries()
	covered := map[string]bool{}
	for key, n := range perAlert {
		if n != 1 {
			t.Errorf("%q delivered in %d distinct messages, want exactly 1", key, n)
		}
		if strings.HasPrefix(key, "resolved ") {
			t.Errorf("%q: no alert should resolve, no tenant changed", key)
		}
		covered[strings.SplitN(strings.TrimPrefix(key, "firing "), "/", 2)[0]] = true
	}
	for id := range mixOf {
		if settled[id] != health.StateHealthy && !covered[id] {
			t.Errorf("tenant %s (%s) has no alert delivered", id, settled[id])
		}
	}
	t.Logf("%d SIGKILLs after %v of uptime in total; %d alerts each delivered once; %d redeliveries of an already received message ID",
		kills, lifetimes.Round(time.Millisecond), len(perAlert), redelivered)
}
