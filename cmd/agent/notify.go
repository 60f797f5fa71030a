package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/transport"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/notify/receivers"
)

func init() {
	register(command{name: "notify", summary: "check a receiver by sending it a sample alert (notify test RECEIVER)", run: runNotify})
}

const notifyUsage = "notify test RECEIVER [--config PATH] [--timeout 30s]"

func runNotify(env *cliEnv, args []string) int {
	verb, rest := subcommand(args)
	if verb != "test" {
		fmt.Fprintln(env.stderr, "usage: tokenhealth "+notifyUsage)
		fmt.Fprintln(env.stderr, "  test  send a sample alert, marked as a test, straight to RECEIVER and report the outcome")
		return 2
	}
	fs := newFlagSet(env, "notify test", notifyUsage)
	path := fs.String("config", config.DefaultPath, "configuration file")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	pos, err := parseInterleaved(fs, rest)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		return fail(env, 2, "notify test: give exactly one receiver name")
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	var rc *config.Receiver
	var names []string
	for i := range cfg.Receivers {
		names = append(names, cfg.Receivers[i].Name)
		if cfg.Receivers[i].Name == pos[0] {
			rc = &cfg.Receivers[i]
		}
	}
	if rc == nil {
		return fail(env, 1, "notify test: no receiver named %q in %s (receivers: %v)", clean(pos[0]), *path, names)
	}
	hc, err := transport.New(transport.Options{CABundleFile: cfg.Global.CABundleFile, ProxyURL: cfg.Global.ProxyURL})
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	rec, err := receivers.Build(*rc, receivers.Deps{HTTPClient: hc})
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	msg := notify.TestMessage(rec.Name, time.Now())
	start := time.Now()
	retry, err := rec.Integration.Notify(ctx, msg)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		var ne *notify.Error
		reason := "error"
		if errors.As(err, &ne) {
			reason = ne.Reason
		}
		verdict := "the agent would not retry: fix the receiver's configuration"
		if retry {
			verdict = "the agent would retry this (temporary failure)"
		}
		fmt.Fprintf(env.stderr, "FAILED  %s (%s) after %s: %s: %v\n        %s\n", rec.Name, rec.Type, took, reason, err, verdict)
		return 1
	}
	fmt.Fprintf(env.stdout, "OK  sent a test alert to %s (%s) in %s; check that it arrived (message id %s)\n", rec.Name, rec.Type, took, msg.ID)
	return 0
}
