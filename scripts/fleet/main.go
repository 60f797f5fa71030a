// Command fleet prepares and serves a simulated fleet for scripts/measure-rss.sh:
// it generates N tenants starting now, serves them (identity and Graph)
// from an in-process simulator on -listen, writes the CA and an agent
// configuration listing every tenant, and enrolls each tenant through the
// agent's own enrollment code (probe.Enroller, the device code flow the
// generated tenants auto-approve) into the state file the agent will open.
// It then keeps serving until it receives SIGINT or SIGTERM.
//
// Not part of the product: a measurement fixture.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/internal/transport"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("tenants", 10000, "number of generated tenants")
	dir := flag.String("dir", "", "working directory for the CA, config, state and key (required)")
	listen := flag.String("listen", "127.0.0.1:18443", "simulator address")
	latency := flag.Duration("latency", 50*time.Millisecond, "latency injected into every token request after enrollment")
	workers := flag.Int("workers", 16, "concurrent enrollments")
	keyBits := flag.Int("key-bits", 1024, "simulator signing key size (1024 is 3x cheaper than 2048; the agent's work is the same)")
	flag.Parse()
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if *n <= 0 {
		return fmt.Errorf("-tenants %d: must be positive", *n)
	}
	now := time.Now().UTC().Truncate(time.Second)
	sc := entrasim.GenerateScenario(*n, 1)
	sc.Start = now.Format(time.RFC3339) // the agent runs on the wall clock
	sim, err := entrasim.New(entrasim.Options{Scenario: sc, Clock: clock.NewVirtual(now, 1), SigningKeyBits: *keyBits,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if err := sim.Listen(*listen); err != nil {
		return err
	}
	defer sim.Close()
	caFile := filepath.Join(*dir, "ca.pem")
	if err := sim.WriteCAFile(caFile); err != nil {
		return err
	}
	cfgPath := filepath.Join(*dir, "config.yaml")
	if err := writeConfig(cfgPath, *dir, caFile, sim); err != nil {
		return err
	}
	start := time.Now()
	if err := enrollAll(cfgPath, sim.Addr(), *workers); err != nil {
		return err
	}
	fmt.Printf("enrolled %d tenants in %s\n", *n, time.Since(start).Round(time.Second))
	if *latency > 0 {
		sim.Faults().Set(entrasim.ClassToken, entrasim.FaultSpec{Latency: *latency, RetryAfter: -1})
	}
	if err := os.WriteFile(filepath.Join(*dir, "ready"), []byte(sim.Addr()+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Println("ready", sim.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

// writeConfig lists every simulated tenant; hosts are the production ones,
// sent to the simulator by TOKENHEALTH_CONNECT_TO.
func writeConfig(path, dir, caFile string, sim *entrasim.Server) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "global:\n  state_dir: %s\n  state_key_file: %s\n  socket: %s\n  socket_group: \"\"\n  metrics_listen: \"\"\n"+
		"  ca_bundle_file: %s\n  client_app_id: %s\ntenants:\n",
		filepath.Join(dir, "state"), filepath.Join(dir, "state.key"), filepath.Join(dir, "th.sock"), caFile, entrasim.CanaryAppID)
	for _, t := range sim.Tenants() {
		fmt.Fprintf(f, "  - {id: %s, name: %q, service_account: svc-sync@%s}\n", t.ID, t.DisplayName, t.Domain)
	}
	return f.Close()
}

// enrollAll enrolls every configured tenant as 'tokenhealth enroll' does.
func enrollAll(cfgPath, simAddr string, workers int) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Global.StateDir, 0o700); err != nil {
		return err
	}
	hc, err := transport.New(transport.Options{CABundleFile: cfg.Global.CABundleFile, MaxConcurrency: workers,
		DialContext: transport.RedirectDialer(simAddr)})
	if err != nil {
		return err
	}
	db, err := store.Open(filepath.Join(cfg.Global.StateDir, "state.db"), store.Options{KeyFile: cfg.Global.StateKeyFile})
	if err != nil {
		return err
	}
	defer db.Close()
	enr := &probe.Enroller{Store: db, HTTP: hc, Clock: clock.Real{}}
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(cfg.Tenants); i = int(next.Add(1)) - 1 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, err := enr.DeviceCode(ctx, probe.TargetFor(&cfg.Global, &cfg.Tenants[i]), io.Discard)
				cancel()
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	return nil
}
