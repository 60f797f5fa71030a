// Package agent is the daemon: it joins configuration, the probe scheduler,
// the Graph policy pass, the health model, the notifier, the local API and
// the metrics. Data flows one way: config -> scheduler -> probe -> findings
// <- policy engine -> health model -> alerts, API/CLI, metrics.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// Options configure an Agent.
type Options struct {
	// ConfigPath is re-read on Reload.
	ConfigPath string
	// Config, when set, is used for the first start instead of reading
	// ConfigPath (the demo builds its configuration in memory).
	Config *config.Config
	// Clock is the agent's time source; the demo shares a virtual clock
	// with the simulated tenants.
	Clock clock.Clock
	// Dial, when set, replaces the network dialer of every outbound
	// connection (tests and the demo redirect production host names).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// ExtraReceivers are added to the configured ones, each with a route
	// that takes every alert (the demo's console printer).
	ExtraReceivers []notify.Receiver
	Logger         *slog.Logger
	Registry       *prometheus.Registry
	Version        string
	// Listener, when set, is used instead of creating the configured
	// socket (tests).
	Listener net.Listener
}

// Agent is one running daemon.
type Agent struct {
	opts  Options
	log   *slog.Logger
	clock clock.Clock
	reg   *prometheus.Registry
	m     *metrics
	sd    sdNotifier

	db       *store.DB
	http     *http.Client
	graphHC  *http.Client
	prober   *probe.Prober
	sched    *probe.Scheduler
	updates  chan probe.Update
	policyCh chan string

	startedAt time.Time

	mu          sync.Mutex
	cfg         *config.Config
	cfgLoadedAt time.Time
	cfgErr      string
	tenants     map[string]*tenantRuntime
	order       []string
	idp         probe.IdPStatus
	notifier    *notify.Notifier
	stopNotify  context.CancelFunc
	notifyDone  chan struct{}
	problems    map[string]string // agent health problems by key

	lookup atomic.Pointer[map[string]notify.TenantInfo] // see tenantLookup

	enroll enrollments // sign-ins run for the CLI (enroll.go)
}

// New prepares an agent: it loads and validates the configuration and
// opens the state file, but starts nothing.
func New(opts Options) (*Agent, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
		opts.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	cfg := opts.Config
	if cfg == nil {
		var err error
		if cfg, err = config.Load(opts.ConfigPath); err != nil {
			return nil, err
		}
	}
	a := &Agent{
		opts: opts, log: opts.Logger, clock: opts.Clock, reg: opts.Registry,
		sd: sdNotifier{log: opts.Logger}, cfg: cfg, cfgLoadedAt: opts.Clock.Now(), startedAt: opts.Clock.Now(),
		tenants: map[string]*tenantRuntime{}, problems: map[string]string{},
		updates: make(chan probe.Update, 4096), policyCh: make(chan string, 1024),
	}
	a.m = newMetrics(a.reg)
	a.m.configValid.Set(1)
	db, err := openStore(cfg, opts.Clock, opts.Logger)
	if err != nil {
		return nil, err
	}
	a.db = db
	if err := a.buildClients(cfg); err != nil {
		db.Close()
		return nil, err
	}
	// The tenants and their last verdicts are known before Run, so the
	// first status (and the systemd READY summary) is already complete.
	a.mu.Lock()
	a.applyTenantsLocked(cfg)
	a.mu.Unlock()
	return a, nil
}

// StatePath is where the agent keeps its state for cfg.
func StatePath(cfg *config.Config) string { return filepath.Join(cfg.Global.StateDir, "state.db") }

func openStore(cfg *config.Config, clk clock.Clock, log *slog.Logger) (*store.DB, error) {
	return store.Open(StatePath(cfg), store.Options{KeyFile: cfg.Global.StateKeyFile, Clock: clk, Logger: log})
}

// Run starts every part and blocks until ctx ends, then shuts down within
// the scheduler's grace period. It returns the first fatal error.
func (a *Agent) Run(ctx context.Context) error {
	defer a.db.Close()
	ln := a.opts.Listener
	if ln == nil {
		var err error
		if ln, err = localapi.Listen(a.cfg.Global.Socket, a.cfg.Global.SocketGroup); err != nil {
			return err
		}
	}
	api := localapi.NewServer(a, a.log)
	metricsSrv, err := a.startMetrics()
	if err != nil {
		ln.Close()
		return err
	}

	if err := a.startNotifier(a.cfg); err != nil {
		ln.Close()
		return err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	start := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("component stopped", "component", name, "err", err)
				cancel()
			}
		}()
	}
	start("api", func(context.Context) error { return api.Serve(ln) })
	start("scheduler", a.sched.Run)
	start("updates", a.consumeUpdates)
	start("policy", a.policyLoop)
	start("maintenance", a.maintenanceLoop)
	start("watchdog", a.watchdogLoop)

	a.sd.ready(a.summary())
	a.log.Info("tokenhealth running", "tenants", len(a.cfg.Tenants), "socket", a.cfg.Global.Socket,
		"metrics", a.cfg.Global.MetricsListen, "state", a.db.Path())

	<-runCtx.Done()
	a.sd.stopping()
	a.log.Info("shutting down")
	shutCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	_ = api.Shutdown(shutCtx)
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(shutCtx)
	}
	wg.Wait()
	a.stopNotifier()
	return nil
}

func (a *Agent) startMetrics() (*http.Server, error) {
	addr := a.cfg.Global.MetricsListen
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("global.metrics_listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: metricsHandler(a.reg), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// summary is the one-line STATUS= text for systemd.
func (a *Agent) summary() string {
	st := a.Status(context.Background())
	counts := map[string]int{}
	for _, t := range st.Tenants {
		counts[string(t.State)]++
	}
	return fmt.Sprintf("%d tenants: %d healthy, %d warning, %d failing, %d unreachable, %d pending",
		len(st.Tenants), counts["healthy"], counts["warning"], counts["failing"], counts["unreachable"], counts["pending"])
}

// Registry is the agent's Prometheus registry (served on metrics_listen).
func (a *Agent) Registry() *prometheus.Registry { return a.reg }
