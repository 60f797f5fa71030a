package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// amBinary is Debian's prometheus-alertmanager (scripts/install-test-deps.sh).
const amBinary = "/usr/bin/prometheus-alertmanager"

// realAlertmanager runs the real Alertmanager on a fixed loopback port with
// its own configuration and storage, without clustering. Down means the
// process is stopped; back means restarted on the same port and storage.
type realAlertmanager struct {
	t    *testing.T
	addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func newRealAlertmanager(t *testing.T) *realAlertmanager {
	t.Helper()
	if _, err := os.Stat(amBinary); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: install the Debian package prometheus-alertmanager (scripts/install-test-deps.sh)", amBinary)
		}
		t.Skipf("%s is missing; install prometheus-alertmanager to run the receivers-down test", amBinary)
	}
	a := &realAlertmanager{t: t, addr: freeLoopbackAddr(t), dir: t.TempDir()}
	// A receiver that goes nowhere: the test reads Alertmanager's view of
	// the alerts, not what it would route.
	cfg := "route:\n  receiver: blackhole\n  group_wait: 1h\nreceivers:\n  - name: blackhole\n"
	if err := os.WriteFile(filepath.Join(a.dir, "alertmanager.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	a.start()
	t.Cleanup(a.stop)
	return a
}

func (a *realAlertmanager) url() string { return "http://" + a.addr }

// start runs the process and waits (real time, generous) until it is ready.
func (a *realAlertmanager) start() {
	a.t.Helper()
	cmd := exec.Command(amBinary, "--config.file="+filepath.Join(a.dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(a.dir, "data"), "--web.listen-address="+a.addr,
		"--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.cmd, a.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(a.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(a.url() + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-a.done:
			a.t.Fatalf("alertmanager exited before it was ready on %s", a.addr)
		default:
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("alertmanager on %s not ready within 60 s: %v", a.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the process (SIGTERM, then SIGKILL) and waits for it.
func (a *realAlertmanager) stop() {
	if a.cmd == nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	a.cmd = nil
}

// amAlert is one element of GET /api/v2/alerts.
type amAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
	Status   struct {
		State string `json:"state"`
	} `json:"status"`
}

// alerts lists what Alertmanager holds as not yet resolved (its API leaves
// out alerts whose endsAt has passed).
func (a *realAlertmanager) alerts() ([]amAlert, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.url()+"/api/v2/alerts", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v2/alerts: HTTP %d", resp.StatusCode)
	}
	var out []amAlert
	return out, json.NewDecoder(resp.Body).Decode(&out)
}
