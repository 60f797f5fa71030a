package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/agent"
	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/logx"
	"github.com/tokenhealth/tokenhealth/internal/transport"
)

func init() {
	register(command{name: "run", summary: "run the daemon (systemd starts this)", run: runDaemon})
}

func runDaemon(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "run", "run [--config PATH]")
	cfgPath := fs.String("config", config.DefaultPath, "configuration file")
	if fs.Parse(args) != nil {
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	log := newLogger(env, cfg.Global.LogLevel)
	opts := agent.Options{ConfigPath: *cfgPath, Config: cfg, Logger: log, Version: version}
	if addr := os.Getenv(connectToEnv); addr != "" {
		opts.Dial = transport.RedirectDialer(addr)
		log.Warn("every outgoing connection goes to one address (simulator and tests only)", "env", connectToEnv, "addr", addr)
	}
	a, err := agent.New(opts)
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = a.Reload(ctx) // the agent logs and reports a refused reload
			}
		}
	}()
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("tokenhealth stopped", "err", err)
		return 1
	}
	return 0
}

// newLogger writes structured logs to stderr (the journal under systemd),
// rate-limited per message so a thousand failing tenants cannot flood it.
func newLogger(env *cliEnv, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if os.Getenv("JOURNAL_STREAM") != "" { // the journal adds its own timestamp
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(logx.NewRateLimit(slog.NewTextHandler(env.stderr, opts), 5, time.Minute))
}
