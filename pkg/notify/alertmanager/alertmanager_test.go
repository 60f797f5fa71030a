package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/notify/notifytest"
)

const amBinary = "/usr/bin/prometheus-alertmanager"

func TestPayloadGolden(t *testing.T) {
	am := New(&Config{URL: "http://127.0.0.1:9093"}, nil, 5*time.Minute)
	firing, _ := json.Marshal(am.Alerts(notifytest.Firing()))
	resolved, _ := json.Marshal(am.Alerts(notifytest.Resolved()))
	notifytest.Golden(t, "alertmanager_firing.json", notifytest.PrettyJSON(t, firing))
	notifytest.Golden(t, "alertmanager_resolved.json", notifytest.PrettyJSON(t, resolved))
	got := am.Alerts(notifytest.Firing())
	if want := notifytest.Now.Add(20 * time.Minute); !got[0].EndsAt.Equal(want) {
		t.Errorf("firing endsAt = %s, want now + 4 x resend = %s", got[0].EndsAt, want)
	}
	if r := am.Alerts(notifytest.Resolved()); !r[0].EndsAt.Equal(notifytest.Resolved().Now) {
		t.Errorf("resolved endsAt = %s, want the resolve time", r[0].EndsAt)
	}
	if AlertName(health.KindPredictedBreak) != "TokenhealthPredictedBreak" {
		t.Errorf("AlertName = %q", AlertName(health.KindPredictedBreak))
	}
}

// startAlertmanager runs Debian's prometheus-alertmanager on a loopback
// port with its own configuration and storage, without clustering.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(amBinary); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: install the Debian package prometheus-alertmanager (apt-get install -y prometheus-alertmanager)", amBinary)
		}
		t.Skipf("%s is missing; install prometheus-alertmanager to run the real-Alertmanager test", amBinary)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte("route:\n  receiver: blackhole\n  group_wait: 1h\nreceivers:\n  - name: blackhole\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, amBinary, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager at %s not ready: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type gettable struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

func activeAlerts(t *testing.T, base, tenant string) []gettable {
	t.Helper()
	q := url.Values{"filter": {fmt.Sprintf("tenant_id=%q", tenant)}}
	resp, err := http.Get(base + "/api/v2/alerts?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []gettable
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRealAlertmanagerThroughNotifier(t *testing.T) {
	base := startAlertmanager(t)
	// Alertmanager judges endsAt against its own wall clock, so the
	// notifier's clock starts two minutes behind the real time and never
	// overtakes it: a resolved endsAt is then in Alertmanager's past.
	clk := clock.NewVirtual(time.Now().UTC().Add(-2*time.Minute).Truncate(time.Second), 0)
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{Key: make([]byte, 32), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	am := New(&Config{URL: base}, nil, time.Minute)
	n, err := notify.New(notify.Options{
		DB: db, Clock: clk, ResendInterval: time.Minute,
		Receivers: []notify.Receiver{{Name: "am", Type: integration, Integration: am, Delivery: notify.PerAlert}},
		Routes:    []notify.Route{{Receiver: "am"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tenant := "6f1c2d3e-0000-4000-8000-0000000000aa"
	f := notifytest.Firing().Alerts[0].Finding
	f.TenantID = tenant
	f.Severity = health.SeverityCritical
	f.Kind = health.KindPolicyBreaksNow
	f.PredictedAt = time.Time{}
	if err := n.Evaluate(tenant, []health.Finding{f}); err != nil {
		t.Fatal(err)
	}
	if sent := n.Flush(ctx); sent != 1 {
		t.Fatalf("%d deliveries, want 1 (no group window for Alertmanager)", sent)
	}
	got := activeAlerts(t, base, tenant)
	if len(got) != 1 {
		t.Fatalf("alertmanager holds %d alerts for the tenant, want 1", len(got))
	}
	a := got[0]
	want := map[string]string{"alertname": "TokenhealthPolicyBreaksNow", "tenant_id": tenant, "tenant_name": notifytest.HostileTenant,
		"kind": "policy_breaks_now", "severity": "critical", "policy_id": "a1b2c3d4-0000-4000-8000-00000000000a"}
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, a.Labels[k], v)
		}
	}
	if a.Status.State != "active" || a.Annotations["runbook"] != "tokenhealth explain "+tenant || a.Annotations["remediation"] == "" {
		t.Errorf("state=%q annotations=%v", a.Status.State, a.Annotations)
	}
	if d := a.EndsAt.Sub(clk.Now()); d < 3*time.Minute || d > 5*time.Minute {
		t.Errorf("endsAt is %s ahead, want about 4 resend intervals", d)
	}
	firstEnds := a.EndsAt

	// Re-evaluations inside the resend interval send nothing; after it, the
	// alert is re-sent with endsAt moved ahead.
	_ = n.Evaluate(tenant, []health.Finding{f})
	if sent := n.Flush(ctx); sent != 0 {
		t.Fatalf("%d deliveries inside the resend interval", sent)
	}
	clk.Advance(61 * time.Second)
	_ = n.Evaluate(tenant, []health.Finding{f})
	if sent := n.Flush(ctx); sent != 1 {
		t.Fatalf("%d deliveries after the resend interval, want 1", sent)
	}
	if got := activeAlerts(t, base, tenant); len(got) != 1 || !got[0].EndsAt.After(firstEnds) {
		t.Fatalf("after resend: %+v (endsAt must move past %s)", got, firstEnds)
	}

	// The finding clears: a resolved alert with endsAt = now; Alertmanager
	// no longer lists it as active.
	_ = n.Evaluate(tenant, nil)
	if sent := n.Flush(ctx); sent != 1 {
		t.Fatalf("%d deliveries for the resolution, want 1", sent)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := activeAlerts(t, base, tenant)
		if len(got) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert still listed after resolution: %+v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
