package agent_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenhealth/tokenhealth/internal/demo"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// notifyListener is a fake systemd notify socket that records datagrams.
type notifyListener struct {
	mu   sync.Mutex
	msgs []string
}

func listenNotify(t *testing.T) *notifyListener {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	nl := &notifyListener{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			nl.mu.Lock()
			nl.msgs = append(nl.msgs, string(buf[:n]))
			nl.mu.Unlock()
		}
	}()
	return nl
}

func (nl *notifyListener) has(prefix string) bool {
	nl.mu.Lock()
	defer nl.mu.Unlock()
	for _, m := range nl.msgs {
		for _, line := range strings.Split(m, "\n") {
			if strings.HasPrefix(line, prefix) {
				return true
			}
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestSystemdNotifyAndMetrics runs the agent on the demo tenants under a
// fake systemd: READY with a STATUS summary once the socket is open,
// WATCHDOG pings while healthy, RELOADING then READY on reload, STOPPING
// at shutdown; and the metrics say what the status says.
func TestSystemdNotifyAndMetrics(t *testing.T) {
	nl := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	env, err := demo.Setup(context.Background(), demo.Options{
		Dir: t.TempDir(), Speed: 3600, Alerts: io.Discard, Progress: io.Discard,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Agent.Run(ctx) }()
	env.Start()

	waitFor(t, "READY=1", func() bool { return nl.has("READY=1") })
	if !nl.has("STATUS=6 tenants") {
		t.Errorf("READY came without a STATUS summary: %q", nl.msgs)
	}
	waitFor(t, "a watchdog ping", func() bool { return nl.has("WATCHDOG=1") })

	// The every-time sign-in frequency tenant fails within minutes of
	// virtual time; the metrics must say so exactly as the status does.
	waitFor(t, "a failing tenant", func() bool {
		for _, ts := range env.Agent.Status(ctx).Tenants {
			if ts.State == "failing" {
				return true
			}
		}
		return false
	})
	// The virtual clock keeps running, so a tenant may change state between
	// reading the status and gathering the metrics: the two must agree at
	// some moment, not at an arbitrary pair of instants.
	var disagreement string
	agree := func() bool {
		var ok bool
		ok, disagreement = metricsAgreeWithStatus(t, env.Agent.Status(ctx).Tenants, env.Agent.Registry())
		return ok
	}
	if !eventually(agree) {
		t.Error(disagreement)
	}

	if err := env.Agent.Reload(ctx); err != nil {
		t.Fatalf("reload of an unchanged config: %v", err)
	}
	waitFor(t, "RELOADING=1 on reload", func() bool { return nl.has("RELOADING=1") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "STOPPING=1 at shutdown", func() bool { return nl.has("STOPPING=1") })
}

// eventually polls cond for up to 30 s.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// metricsAgreeWithStatus compares the tokenhealth_tenant_state{state="failing"}
// series with the failing tenants of a status read just before.
func metricsAgreeWithStatus(t *testing.T, tenants []health.TenantStatus, reg prometheus.Gatherer) (bool, string) {
	t.Helper()
	failing := map[string]bool{}
	for _, ts := range tenants {
		if ts.State == health.StateFailing {
			failing[ts.ID] = true
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	metricFailing := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "tokenhealth_tenant_state" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var tenant, state string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "tenant":
					tenant = l.GetValue()
				case "state":
					state = l.GetValue()
				}
			}
			if state == string(health.StateFailing) && m.GetGauge().GetValue() == 1 {
				metricFailing[tenant] = true
			}
		}
	}
	if len(metricFailing) == 0 {
		return false, "no tenant_state{state=failing} series is 1 while the status has a failing tenant"
	}
	for id := range metricFailing {
		if !failing[id] {
			return false, "metric says " + id + " is failing, status does not"
		}
	}
	for id := range failing {
		if !metricFailing[id] {
			return false, "status says " + id + " is failing, the metric does not"
		}
	}
	return true, ""
}
