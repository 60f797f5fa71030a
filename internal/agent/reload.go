package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/tokenhealth/tokenhealth/internal/config"
)

// Reload re-reads the configuration file. An invalid file changes
// nothing: the agent keeps running on the previous configuration and says
// why in the log, the API (status) and the metrics.
func (a *Agent) Reload(ctx context.Context) error {
	a.sd.reloading()
	defer func() { a.sd.reloaded(a.summary()) }()
	cfg, err := config.Load(a.opts.ConfigPath)
	if err == nil {
		err = a.checkReloadable(cfg)
	}
	if err != nil {
		a.mu.Lock()
		a.cfgErr = err.Error()
		a.mu.Unlock()
		a.m.configReload.WithLabelValues("refused").Inc()
		a.m.configValid.Set(0)
		a.log.Error("configuration reload refused; still running on the previous configuration", "file", a.opts.ConfigPath, "err", err)
		a.problem("config-reload", "the configuration reload was refused; still running on the previous one: "+firstLine(err.Error()))
		return fmt.Errorf("%w: %v", errReloadRefused, err)
	}
	a.mu.Lock()
	old := a.cfg
	a.cfg, a.cfgLoadedAt, a.cfgErr = cfg, a.clock.Now(), ""
	removed := a.applyTenantsLocked(cfg)
	a.mu.Unlock()
	for _, id := range removed {
		a.notifyTenant(id, nil) // the tenant left: its alerts resolve
	}
	if receiversChanged(old, cfg) {
		if err := a.startNotifier(cfg); err != nil {
			a.log.Error("rebuilding receivers", "err", err)
			a.problem("receivers", "rebuilding the alert receivers failed: "+err.Error())
		} else {
			a.clearProblem("receivers")
		}
	}
	a.m.configReload.WithLabelValues("ok").Inc()
	a.m.configValid.Set(1)
	a.clearProblem("config-reload")
	a.log.Info("configuration reloaded", "tenants", len(cfg.Tenants), "removed", len(removed), "receivers", len(cfg.Receivers))
	return nil
}

var errReloadRefused = fmt.Errorf("configuration reload refused")

// checkReloadable refuses changes that only a restart can apply, rather
// than half-applying them.
func (a *Agent) checkReloadable(cfg *config.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	o, n := a.cfg.Global, cfg.Global
	var diffs []string
	check := func(name string, changed bool) {
		if changed {
			diffs = append(diffs, name)
		}
	}
	check("global.state_dir", o.StateDir != n.StateDir)
	check("global.state_key_file", o.StateKeyFile != n.StateKeyFile)
	check("global.socket", o.Socket != n.Socket)
	check("global.metrics_listen", o.MetricsListen != n.MetricsListen)
	check("global.cloud", o.Endpoints() != n.Endpoints())
	check("global.ca_bundle_file", o.CABundleFile != n.CABundleFile)
	check("global.proxy_url", o.ProxyURL != n.ProxyURL)
	check("global.max_concurrent_probes", o.MaxConcurrentProbes != n.MaxConcurrentProbes)
	if len(diffs) > 0 {
		return fmt.Errorf("%s changed: these take effect only after a restart (systemctl restart tokenhealth)", strings.Join(diffs, ", "))
	}
	return nil
}

// receiversChanged compares what the notifier was built from.
func receiversChanged(old, cfg *config.Config) bool {
	if old == nil {
		return true
	}
	// The rendered configuration redacts secrets, so compare the revealed
	// form through the integration builders' inputs: any field change
	// rebuilds (cheap: receivers hold no connections).
	return fmt.Sprintf("%#v%#v%#v", old.Receivers, old.Routes, old.Global) != fmt.Sprintf("%#v%#v%#v", cfg.Receivers, cfg.Routes, cfg.Global)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
