package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/demo"
	"github.com/tokenhealth/tokenhealth/internal/logx"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func init() {
	register(command{name: "demo", summary: "run the real agent on embedded simulated tenants (no Microsoft account needed)", run: runDemo})
}

func runDemo(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "demo", "demo [--once] [--duration 75s] [--speed 3600] [--config PATH]")
	once := fs.Bool("once", false, "run one full pass, print `status --json`, exit")
	duration := fs.Duration("duration", 75*time.Second, "how long the demo runs (real time)")
	speed := fs.Float64("speed", 3600, "virtual seconds per real second (3600: an hour per second)")
	cfgPath := fs.String("config", "", "optional configuration whose receivers and routes also get the alerts")
	keep := fs.Bool("keep", false, "keep the demo directory (configuration, state file) afterwards")
	if fs.Parse(args) != nil {
		return 2
	}
	if *speed <= 0 {
		return fail(env, 2, "--speed must be positive")
	}
	dir, err := os.MkdirTemp("", "tokenhealth-demo-")
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	if *keep {
		fmt.Fprintf(env.stderr, "demo files kept in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// The demo's own output is the status table and the alerts; the
	// agent's log only speaks up for warnings, on stderr.
	log := slog.New(logx.NewRateLimit(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelError}), 3, time.Minute))
	out, alerts := env.stdout, env.stdout
	if *once {
		out, alerts = env.stderr, io.Discard
	}
	e, err := demo.Setup(ctx, demo.Options{Dir: dir, Speed: *speed, ReceiversFrom: *cfgPath, Alerts: alerts, Progress: out, Logger: log})
	if err != nil {
		return fail(env, 1, "demo setup: %v", err)
	}
	defer e.Close()

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- e.Agent.Run(runCtx)
		cancel() // an agent that stopped on its own ends the demo
	}()
	e.Start()
	finish := func() int {
		cancel()
		if err := <-done; err != nil {
			return fail(env, 1, "agent: %v", err)
		}
		return 0
	}

	if *once {
		if err := waitForPass(runCtx, e, 3*time.Minute); err != nil {
			finish()
			return fail(env, 1, "%v", err)
		}
		if err := printJSON(env.stdout, e.Agent.Status(ctx)); err != nil {
			finish()
			return fail(env, 1, "%v", err)
		}
		return finish()
	}

	fmt.Fprintf(out, "\nVirtual time runs %.0fx faster than real time; the demo ends after %s (Ctrl-C to stop sooner).\n", *speed, *duration)
	p := newPainter(env.stdout)
	every := time.Duration(float64(12*time.Hour) / *speed) // a table every 12 virtual hours
	if every < time.Second {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	end := time.After(*duration)
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case <-end:
			break loop
		case <-tick.C:
			printDemoStatus(env.stdout, p, e)
		}
	}
	printDemoStatus(env.stdout, p, e)
	explainWorst(env.stdout, p, e)
	return finish()
}

// waitForPass waits until every tenant was probed and its policies read.
func waitForPass(ctx context.Context, e *demo.Env, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		probed, read, total := e.Agent.Progress()
		if total > 0 && probed == total && read == total {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	probed, read, total := e.Agent.Progress()
	return fmt.Errorf("the first pass did not complete within %s: %d/%d tenants probed, %d/%d policy reads", limit, probed, total, read, total)
}

func printDemoStatus(w io.Writer, p painter, e *demo.Env) {
	now := e.Agent.Now()
	fmt.Fprintf(w, "\n=== %s (virtual time) ===\n", now.UTC().Format("Mon 2006-01-02 15:04 UTC"))
	renderStatus(w, p, e.Agent.Status(context.Background()), now)
}

// explainWorst ends the demo with the full story of the worst tenant, as
// `tokenhealth explain` would print it.
func explainWorst(w io.Writer, p painter, e *demo.Env) {
	st := e.Agent.Status(context.Background())
	if len(st.Tenants) == 0 || st.Tenants[0].State == health.StateHealthy {
		return
	}
	ex, err := e.Agent.Explain(context.Background(), st.Tenants[0].ID)
	if err != nil {
		return
	}
	fmt.Fprintf(w, "\n=== tokenhealth explain %s ===\n", st.Tenants[0].ID)
	renderExplain(w, p, ex, e.Agent.Now())
}
