// Command entrasim runs the simulated Entra ID and Microsoft Graph tenants
// over HTTPS for tests, demos and load tests.
//
//	entrasim [--listen ADDR] [--scenario FILE] [--ca-out FILE] [--speed N] [--host NAME]...
//	entrasim generate --tenants N --out FILE [--seed S]
//
// When ready it prints one line to stdout: "entrasim listening on https://ADDR".
// Logs go to stderr.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, waitForSignal))
}

func waitForSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	<-ch
}

// hostList collects repeated --host flags.
type hostList []string

func (h *hostList) String() string     { return strings.Join(*h, ",") }
func (h *hostList) Set(v string) error { *h = append(*h, v); return nil }

func run(args []string, stdout, stderr io.Writer, wait func()) int {
	if len(args) > 0 && args[0] == "generate" {
		return runGenerate(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("entrasim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8443", "address to serve HTTPS on (port 0 picks a free one)")
	scenario := fs.String("scenario", "", "scenario YAML file (default: the embedded demo scenario)")
	caOut := fs.String("ca-out", "", "write the simulator's CA certificate (PEM) to this file")
	speed := fs.Float64("speed", 1, "virtual seconds per real second (0 freezes the clock; /_sim/clock/advance moves it)")
	verbose := fs.Bool("v", false, "log every scenario event and server error")
	var hosts hostList
	fs.Var(&hosts, "host", "extra host name or IP for the certificate (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "entrasim: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts := entrasim.Options{Speed: *speed, ExtraHostNames: hosts, Logger: log}
	if *speed < 0 {
		fmt.Fprintln(stderr, "entrasim: --speed must not be negative")
		return 2
	}
	if *scenario != "" {
		sc, err := entrasim.LoadScenarioFile(*scenario)
		if err != nil {
			fmt.Fprintf(stderr, "entrasim: %v\n", err)
			return 1
		}
		opts.Scenario = sc
	}
	srv, err := entrasim.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "entrasim: %v\n", err)
		return 1
	}
	if *caOut != "" {
		if err := srv.WriteCAFile(*caOut); err != nil {
			fmt.Fprintf(stderr, "entrasim: writing CA: %v\n", err)
			return 1
		}
	}
	if err := srv.Listen(*listen); err != nil {
		fmt.Fprintf(stderr, "entrasim: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "entrasim listening on %s\n", srv.BaseURL())
	log.Info("simulator ready", "tenants", len(srv.Tenants()), "virtual_time", srv.Now(), "speed", *speed)
	wait()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(stderr, "entrasim: shutdown: %v\n", err)
		return 1
	}
	return 0
}

func runGenerate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("entrasim generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("tenants", 10000, "number of tenants")
	out := fs.String("out", "", "output scenario file (- for stdout)")
	seed := fs.Uint64("seed", 1, "seed: the same seed gives the same scenario")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *n <= 0 || *out == "" {
		fmt.Fprintln(stderr, "entrasim generate: --tenants must be positive and --out is required")
		return 2
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "entrasim generate: %v\n", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	if err := entrasim.WriteScenarioYAML(w, entrasim.GenerateScenario(*n, *seed)); err != nil {
		fmt.Fprintf(stderr, "entrasim generate: %v\n", err)
		return 1
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
			fmt.Fprintf(stderr, "entrasim generate: %v\n", err)
			return 1
		}
	}
	return 0
}
