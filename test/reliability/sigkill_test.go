package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/e2etest"
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
// 48 tenants on a one-minute interval, reads their policies and delivers
// their alerts. Every restart must open the state file, resume every
// verdict at once (a failing tenant is failing, not pending), redeem the
// cached tokens without re-enrollment, and deliver every alert exactly
// once. TOKENHEALTH_SOAK_KILLS (make soak) raises the number of kills.
//
// Nothing waits on the wall-clock schedule: the tenants are enrolled
// through the daemon, which probes each new token at once; the verdicts are
// settled when every policy pass is done; and after the last restart the
// daemon probes every working tenant at once (`tokenhealth check` through
// its socket): the same scheduler, prober and cached tokens, only earlier
// than the start's one-minute spread of first probes.
func TestSIGKILLUnderLoad(t *testing.T) {
	kills := soakInt("TOKENHEALTH_SOAK_KILLS", 50)
	phases := newPhaseClock(t)
	sc, mixOf := scenarioOf(100, mixHealthy, mixReportOnly, mixEveryTime)
	d := newDaemon(t, sc, mixOf, "")
	// The simulator pages Conditional Access policies two at a time, as
	// large real tenants do, and the daemon reads them within Graph's budget
	// of one request per second per tenant: a policy pass then takes
	// seconds, and the first passes of every tenant a minute. Paging is not
	// what this test is about: with whole pages the daemon still starts
	// every life busy with policy passes for every tenant, and the verdicts
	// settle in seconds.
	limits := d.sim.GraphLimits()
	limits.PolicyPageSize = 100
	if err := d.sim.SetGraphLimits(limits); err != nil {
		t.Fatal(err)
	}
	phases.done("building tokenhealth, starting the simulator")
	// Enrolled through the running daemon, a few tenants at a time: each
	// enrollment ends with the daemon's first probe of the new token. The
	// restart then reads every tenant's policies at once, as every later
	// restart does.
	d.start()
	d.enrollThroughDaemon(4)
	// The every-time tenants only warn within Entra's five minutes of
	// grace, so no token of the mix fails during this test. Three working
	// tokens break for good (service account disabled, AADSTS50057) so
	// that "a failing tenant resumes as failing" is exercised too.
	disabled := d.disableServiceAccounts(3)
	d.stop()
	phases.done("enrolling the tenants through the daemon (CLI)")
	d.start()
	afterRestart := d.states()
	d.awaitPolicyPasses(150 * time.Second)
	settled := d.settleQuiet(60*time.Second, 2*time.Second)
	// A restart once turned these failing tenants healthy at its first
	// policy pass (the probe findings were derived from an empty update),
	// and their alert resolved and fired again.
	for _, id := range disabled {
		if settled[id] != health.StateFailing {
			t.Fatalf("tenant %s with a disabled account is %s after a restart and its policy pass, want failing (right after the restart: %s)\n%s",
				id, settled[id], afterRestart[id], d.probeHistory(id))
		}
	}
	d.kill()
	phases.done("first probes and policy passes until settled")

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var lifetimes time.Duration
	for i := range kills {
		d.start()
		// Right after the restart, before any new probe: nothing regressed.
		after := d.states()
		for id, want := range settled {
			if after[id] != want {
				t.Fatalf("kill %d: tenant %s (mix %d) is %q right after restart, was %s\n%s", i, id, d.mixOf[id], after[id], want, d.h.Logs.Tail(30))
			}
		}
		life := time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
		lifetimes += life
		time.Sleep(life)
		d.kill()
	}
	phases.done("the SIGKILLs")

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
	var working []string
	for id, s := range settled {
		if s != health.StateFailing {
			working = append(working, id)
		}
	}
	sort.Strings(working)
	d.checkAll(working)
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
	// Every alert reaches the webhook (an alert still in the outbox at the
	// last kill is delivered after the restart), and a late duplicate has a
	// few seconds to show before the daemon stops.
	d.eventually("every tenant with a finding has an alert delivered", 60*time.Second, func() bool {
		perAlert, _ := d.hook.deliveries(t)
		return len(undelivered(perAlert, settled)) == 0
	})
	time.Sleep(3 * time.Second)
	d.stop()
	phases.done("the last restart until every working token redeemed")

	perAlert, redelivered := d.hook.deliveries(t)
	defer func() {
		if t.Failed() {
			t.Logf("state changes and token_failing notifications:\n%s", grepLines(d.h.Logs.String(), "state changed", "kind=token_failing", "msg=starting", "ready"))
		}
	}()
	for key, n := range perAlert {
		if n != 1 {
			t.Errorf("%q delivered in %d distinct messages, want exactly 1", key, n)
		}
		if strings.HasPrefix(key, "resolved ") {
			t.Errorf("%q: no alert should resolve, no tenant changed", key)
		}
	}
	for _, id := range undelivered(perAlert, settled) {
		t.Errorf("tenant %s (%s) has no alert delivered", id, settled[id])
	}
	t.Logf("%d tenants, %d SIGKILLs after %v of uptime in total; %d alerts each delivered once; %d redeliveries of an already received message ID",
		len(mixOf), kills, lifetimes.Round(time.Millisecond), len(perAlert), redelivered)
}

// undelivered lists the tenants that are not healthy but have no firing
// alert among the delivered ones (perAlert as fakeWebhook.deliveries counts
// them: "status tenant/..." keys).
func undelivered(perAlert map[string]int, settled map[string]health.State) []string {
	covered := map[string]bool{}
	for key := range perAlert {
		if id, ok := strings.CutPrefix(key, "firing "); ok {
			covered[strings.SplitN(id, "/", 2)[0]] = true
		}
	}
	var out []string
	for id, s := range settled {
		if s != health.StateHealthy && !covered[id] {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// checkAll has the running daemon probe each tenant now, as `tokenhealth
// check` does through its socket, a few at a time. The daemon's scheduler
// runs the probe and records it like any other.
func (d *daemon) checkAll(ids []string) {
	d.t.Helper()
	const parallel = 8
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if _, err := d.h.Client().Check(ctx, id); err != nil {
				d.t.Errorf("check %s (mix %d) through the daemon: %v", id, d.mixOf[id], err)
			}
		}()
	}
	wg.Wait()
	if d.t.Failed() {
		d.t.FailNow()
	}
}

// disableServiceAccounts disables the service account of n healthy
// tenants in the simulator, has the daemon probe them and waits until each
// is failing.
func (d *daemon) disableServiceAccounts(n int) []string {
	d.t.Helper()
	var ids []string
	for id, m := range d.mixOf {
		if m == mixHealthy {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	ids = ids[:min(n, len(ids))]
	for _, id := range ids {
		tn := d.sim.Tenant(id)
		if err := tn.SetAccountEnabled("svc-sync@"+tn.Domain, false); err != nil {
			d.t.Fatalf("disable the service account of %s: %v", id, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		// The answer is the probe's verdict; the state is checked below.
		_, err := d.h.Client().Check(ctx, id)
		cancel()
		if err != nil {
			d.t.Fatalf("check %s through the daemon after disabling its account: %v", id, err)
		}
	}
	d.eventually("every tenant with a disabled account failing", 60*time.Second, func() bool {
		states := d.states()
		for _, id := range ids {
			if states[id] != health.StateFailing {
				return false
			}
		}
		return true
	})
	return ids
}

// probeHistory renders a tenant's latest attempts for a failure message.
func (d *daemon) probeHistory(id string) string {
	h, err := d.h.Client().History(context.Background(), id, 20)
	if err != nil {
		return "history: " + err.Error()
	}
	var b strings.Builder
	for _, ev := range h.Probes {
		fmt.Fprintf(&b, "probe %s %s %v %s %s\n", ev.Time.Format(time.RFC3339Nano), ev.Outcome, ev.Codes, ev.Cause, ev.Message)
	}
	return b.String()
}

// enrollThroughDaemon runs `tokenhealth enroll` for every tenant, parallel
// at a time, while the daemon runs: the daemon signs in (device code) and
// probes the new token before the command returns.
func (d *daemon) enrollThroughDaemon(parallel int) {
	d.t.Helper()
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, tn := range d.sim.Tenants() {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), e2etest.CLILimit)
			defer cancel()
			out, err := d.h.Command(ctx, "enroll", tn.ID, "--config", d.cfg).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Verified by the daemon") {
				d.t.Errorf("enroll %s through the daemon: %v\n%s", tn.ID, err, out)
			}
		}()
	}
	wg.Wait()
	if d.t.Failed() {
		d.t.FailNow()
	}
}

// awaitPolicyPasses waits until the daemon has probed every tenant and
// read the policies of every tenant whose token works: the events a
// tenant's verdict depends on, so settling needs no long quiet period.
func (d *daemon) awaitPolicyPasses(limit time.Duration) {
	d.t.Helper()
	read := map[string]bool{}
	d.eventually("every tenant probed and every working tenant's policies read", limit, func() bool {
		st, err := d.status()
		if err != nil || len(st.Tenants) != len(d.mixOf) {
			return false
		}
		for _, ts := range st.Tenants {
			if ts.State == health.StatePending || ts.LastProbe.IsZero() {
				return false
			}
			if read[ts.ID] || ts.State == health.StateFailing {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			pr, err := d.h.Client().Policies(ctx, ts.ID)
			cancel()
			if err != nil || pr.ReadAt.IsZero() {
				return false
			}
			read[ts.ID] = true
		}
		return true
	})
}

// phaseClock logs how long each phase of a long test took, so a slow run
// shows where its time went.
type phaseClock struct {
	t    *testing.T
	last time.Time
}

func newPhaseClock(t *testing.T) *phaseClock { return &phaseClock{t: t, last: time.Now()} }

func (p *phaseClock) done(phase string) {
	now := time.Now()
	p.t.Logf("%-55s %6.1fs", phase, now.Sub(p.last).Seconds())
	p.last = now
}
