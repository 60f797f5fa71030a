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

	"github.com/tokenhealth/tokenhealth/internal/demo"
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
	failing := map[string]bool{}
	for _, ts := range env.Agent.Status(ctx).Tenants {
		if ts.State == "failing" {
			failing[ts.ID] = true
		}
	}
	mfs, err := env.Agent.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
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
			if state == "failing" && m.GetGauge().GetValue() == 1 {
				seen++
				if !failing[tenant] {
					t.Errorf("metric says %s is failing, status does not", tenant)
				}
			}
		}
	}
	if seen == 0 {
		t.Error("no tenant_state{state=failing} series is 1 while the status has a failing tenant")
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
