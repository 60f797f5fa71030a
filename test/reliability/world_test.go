// Package reliability injects faults around a running tokenhealth agent and
// checks that it neither cries wolf nor loses an alert. Long virtual spans
// run the agent in-process on the simulator's virtual clock (world); kill
// and restart tests drive the real binary (daemon_test.go).
package reliability

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tokenhealth/tokenhealth/internal/agent"
	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/e2etest"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/internal/transport"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// Tenant mixes of entrasim.GenerateScenario, by index modulo 6.
const (
	mixHealthy    = 0 // service account excluded from every policy
	mixReportOnly = 2 // report-only MFA: a warning
	mixEveryTime  = 3 // reauthenticate every time: the token fails
)

// scenarioOf keeps the generated tenants whose index modulo 6 is one of
// mixes, so a test knows what each tenant's verdict must be.
func scenarioOf(total int, mixes ...int) (*entrasim.Scenario, map[string]int) {
	sc := entrasim.GenerateScenario(total, 9)
	kept := sc.Tenants[:0]
	mixOf := map[string]int{}
	for i, t := range sc.Tenants {
		for _, m := range mixes {
			if i%6 == m && i%10 != 7 { // no policy arriving later
				kept = append(kept, t)
				mixOf[strings.ToLower(t.ID)] = m
			}
		}
	}
	sc.Tenants = kept
	return sc, mixOf
}

// world is the simulated tenants and an in-process agent sharing one
// virtual clock.
type world struct {
	t       *testing.T
	dir     string
	clk     *clock.Virtual
	sim     *entrasim.Server
	mixOf   map[string]int
	cfgPath string
	cfg     *config.Config
	reg     *prometheus.Registry
	rec     *recorder
	agent   *agent.Agent
	logs    *e2etest.LogBuffer
	stop    context.CancelFunc
	done    chan error
}

type worldOptions struct {
	Scenario *entrasim.Scenario
	MixOf    map[string]int
	// Global and Receivers are YAML fragments added to the configuration.
	Global    string
	Receivers string
	CABundle  string // extra PEM trusted beside the simulator's CA
}

func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("reliability test with a simulated tenant set")
	}
	dir := shortTempDir(t)
	sc := o.Scenario
	start, err := time.Parse(time.RFC3339, sc.Start)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewVirtual(start, 0)
	logs := &e2etest.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	sim, err := entrasim.New(entrasim.Options{Scenario: sc, Clock: clk, SigningKeyBits: 1024, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	caFile := filepath.Join(dir, "ca.pem")
	if err := sim.WriteCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	if o.CABundle != "" {
		f, err := os.OpenFile(caFile, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString(o.CABundle)
		f.Close()
	}
	w := &world{t: t, dir: dir, clk: clk, sim: sim, mixOf: o.MixOf, cfgPath: filepath.Join(dir, "config.yaml"),
		reg: prometheus.NewRegistry(), rec: &recorder{clk: clk}, logs: logs}
	doc := configYAML(dir, caFile, sim, o.Global, o.Receivers)
	if err := os.WriteFile(w.cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if w.cfg, err = config.Load(w.cfgPath); err != nil {
		t.Fatalf("config: %v\n%s", err, doc)
	}
	w.enrollAll()
	w.agent, err = agent.New(agent.Options{
		ConfigPath: w.cfgPath, Config: w.cfg, Clock: clk, Dial: transport.RedirectDialer(sim.Addr()),
		Logger: logger, Registry: w.reg, Version: "reliability",
		ExtraReceivers: []notify.Receiver{{Name: "recorder", Type: "recorder", Integration: w.rec}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// configYAML is the agent's configuration for the simulated tenants:
// production host names (the dialer redirects them) and the intervals of
// the configuration's defaults unless global overrides them.
func configYAML(dir, caFile string, sim *entrasim.Server, global, receivers string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global:
  state_dir: %s
  state_key_file: %s
  socket: %s
  socket_group: ""
  metrics_listen: ""
  ca_bundle_file: %s
  client_app_id: %s
  group_window: 1m
%s
tenants:
`, filepath.Join(dir, "state"), filepath.Join(dir, "state.key"), filepath.Join(dir, "th.sock"), caFile, entrasim.CanaryAppID, global)
	for _, t := range sim.Tenants() {
		fmt.Fprintf(&b, "  - {id: %s, name: %q, service_account: svc-sync@%s}\n", t.ID, t.DisplayName, t.Domain)
	}
	b.WriteString(receivers)
	return b.String()
}

// enrollAll runs the device code flow for every tenant with the real MSAL
// client while virtual time stands still.
func (w *world) enrollAll() {
	w.t.Helper()
	hc, err := transport.New(transport.Options{CABundleFile: w.cfg.Global.CABundleFile, DialContext: transport.RedirectDialer(w.sim.Addr())})
	if err != nil {
		w.t.Fatal(err)
	}
	db, err := store.Open(agent.StatePath(w.cfg), store.Options{KeyFile: w.cfg.Global.StateKeyFile, Clock: w.clk})
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
	enr := &probe.Enroller{Store: db, HTTP: hc, Clock: w.clk}
	for _, tc := range w.cfg.Tenants {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := enr.DeviceCode(ctx, probe.TargetFor(&w.cfg.Global, &tc), io.Discard)
		cancel()
		if err != nil {
			w.t.Fatalf("enrolling %s: %v", tc.Name, err)
		}
	}
}

// run starts the agent and lets virtual time pass at speed.
func (w *world) run(speed float64) {
	ctx, cancel := context.WithCancel(context.Background())
	w.stop, w.done = cancel, make(chan error, 1)
	go func() { w.done <- w.agent.Run(ctx) }()
	w.clk.SetSpeed(speed)
	w.t.Cleanup(w.shutdown)
}

func (w *world) shutdown() {
	if w.stop == nil {
		return
	}
	w.stop()
	w.stop = nil
	select {
	case err := <-w.done:
		if err != nil {
			w.t.Errorf("agent.Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		w.t.Errorf("the agent did not stop within 30 s")
	}
}

// until waits (real time, at most limit) until virtual time reaches at.
func (w *world) until(at time.Time, limit time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for w.clk.Now().Before(at) {
		if time.Now().After(deadline) {
			w.t.Fatalf("virtual time %s did not reach %s within %s", w.clk.Now(), at, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventually polls cond in real time.
func (w *world) eventually(what string, limit time.Duration, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out after %s (virtual %s) waiting until %s\nlog tail:\n%s", limit, w.clk.Now().Format(time.RFC3339), what, w.logs.Tail(40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *world) states() map[string]health.State {
	out := map[string]health.State{}
	for id, ts := range w.statuses() {
		out[id] = ts.State
	}
	return out
}

// statuses is the local API's status of every tenant, by id.
func (w *world) statuses() map[string]health.TenantStatus {
	out := map[string]health.TenantStatus{}
	st, err := localapi.NewClient(w.cfg.Global.Socket).Status(context.Background())
	if err != nil {
		return out // not listening yet
	}
	for _, ts := range st.Tenants {
		out[ts.ID] = ts
	}
	return out
}

// trueVerdict is the state a tenant of the generated mix must settle in.
func (w *world) trueVerdict(id string) health.State {
	switch w.mixOf[id] {
	case mixReportOnly:
		return health.StateWarning
	case mixEveryTime:
		return health.StateFailing
	}
	return health.StateHealthy
}

// atVerdict reports whether a tenant's status is its true verdict. A
// healthy tenant may show a warning whose cause is a predicted break (its
// password expiry entering the lead time as virtual days pass): that is a
// prediction, not a verdict, and no fault can cause it.
func (w *world) atVerdict(ts health.TenantStatus) bool {
	want := w.trueVerdict(ts.ID)
	if ts.State == want {
		return true
	}
	if want != health.StateHealthy || ts.State != health.StateWarning || ts.PredictedBreak.IsZero() {
		return false
	}
	for _, f := range ts.Findings {
		if f.Kind != health.KindPredictedBreak && f.Severity != health.SeverityInfo {
			return false
		}
	}
	return true
}

// atTrueVerdicts reports whether every tenant shows its true verdict.
func (w *world) atTrueVerdicts() bool {
	st := w.statuses()
	for _, ts := range st {
		if !w.atVerdict(ts) {
			return false
		}
	}
	return len(st) == len(w.mixOf)
}

// metric sums the samples of a metric family whose labels include match.
func (w *world) metric(name string, match map[string]string) float64 {
	w.t.Helper()
	mfs, err := w.reg.Gather()
	if err != nil {
		w.t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !labelsMatch(m, match) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

// maxGauge is the largest sample of a gauge family.
func (w *world) maxGauge(name string) float64 {
	mfs, _ := w.reg.Gather()
	var max float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				max = maxf(max, m.GetGauge().GetValue())
			}
		}
	}
	return max
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func labelsMatch(m *dto.Metric, match map[string]string) bool {
	for k, v := range match {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// tokenGrantsPerMinute buckets every refresh-token redemption the
// simulated tenants logged after from, by virtual minute.
func (w *world) tokenGrantsPerMinute(from, to time.Time) map[time.Time]int {
	out := map[time.Time]int{}
	for _, t := range w.sim.Tenants() {
		for _, si := range t.SignIns(func(s *entrasim.SignIn) bool {
			return !s.IsInteractive && !s.CreatedDateTime.Before(from) && s.CreatedDateTime.Before(to)
		}) {
			out[si.CreatedDateTime.Truncate(time.Minute)]++
		}
	}
	return out
}

// recorder is an always-available receiver: the reference for what the
// agent decided to send.
type recorder struct {
	clk  clock.Clock
	mu   sync.Mutex
	msgs []recorded
}

type recorded struct {
	at  time.Time
	msg notify.Message
}

func (r *recorder) Notify(_ context.Context, m *notify.Message) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, recorded{at: r.clk.Now(), msg: *m})
	return false, nil
}

func (r *recorder) messages() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.msgs...)
}

// alertsOfKind lists "status key" for every alert of kind, in order.
func (r *recorder) alertsOfKind(kind health.Kind) []string {
	var out []string
	for _, m := range r.messages() {
		for _, a := range m.msg.Alerts {
			if a.Finding.Kind == kind {
				out = append(out, string(a.Status)+" "+a.Key)
			}
		}
	}
	return out
}

// firingKeys counts the first ("new") firing notification of every alert.
func (r *recorder) newFiring() map[string]int {
	out := map[string]int{}
	for _, m := range r.messages() {
		if m.msg.Reason != notify.ReasonNew {
			continue
		}
		for _, a := range m.msg.Alerts {
			if a.Status == notify.StatusFiring {
				out[a.Key]++
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// shortTempDir keeps the unix socket path below the 108-byte limit.
func shortTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "threl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// grepLines keeps the log lines containing any of words.
func grepLines(log string, words ...string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
