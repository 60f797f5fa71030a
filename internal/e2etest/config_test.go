package e2etest

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/config"
)

// TestConfigLoads checks that what Config renders is a configuration the
// daemon accepts, with each field where the tests expect it.
func TestConfigLoads(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "client-secret")
	if err := os.WriteFile(secretFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The loader reads the CA bundle: any real certificate will do.
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	tlsSrv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	c := Config{
		Dir:           dir,
		MetricsListen: "127.0.0.1:9999",
		Global:        "probe_interval: 2m\n  log_level: debug\n",
		Tenants: []Tenant{
			{ID: "11111111-1111-4111-8111-111111111111", Name: `Contoso "HQ"`, ServiceAccount: "svc-sync@contoso.example"},
			{ID: "22222222-2222-4222-8222-222222222222", Name: "Fabrikam", ServiceAccount: "svc-sync@fabrikam.example",
				Extra: "client_type: confidential, client_secret_file: " + secretFile},
		},
		Receivers: "receivers:\n  - name: hook\n    webhook: {url: \"http://127.0.0.1:1/hook\"}\nroutes:\n  - receiver: hook\n",
	}
	path := filepath.Join(dir, "config.yaml")
	c.Write(t, path)
	got, err := config.Load(path)
	if err != nil {
		t.Fatalf("the rendered configuration does not load: %v\n%s", err, c.YAML())
	}
	g := got.Global
	for _, tc := range []struct{ field, got, want string }{
		{"state_dir", g.StateDir, filepath.Join(dir, "state")},
		{"state path", c.StatePath(), filepath.Join(dir, "state", "state.db")},
		{"state_key_file", g.StateKeyFile, c.StateKeyFile()},
		{"socket", g.Socket, c.Socket()},
		{"socket_group", g.SocketGroup, ""},
		{"metrics_listen", g.MetricsListen, "127.0.0.1:9999"},
		{"ca_bundle_file", g.CABundleFile, c.CAFile()},
		{"client_app_id", g.ClientAppID, "7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b"},
		{"log_level", g.LogLevel, "debug"},
		{"tenant 0 name", got.Tenants[0].Name, `Contoso "HQ"`},
		{"tenant 0 client_type", got.Tenants[0].ClientType, config.ClientPublic},
		{"tenant 1 client_type", got.Tenants[1].ClientType, config.ClientConfidential},
		{"tenant 1 service_account", got.Tenants[1].ServiceAccount, "svc-sync@fabrikam.example"},
		{"receiver", got.Receivers[0].Name, "hook"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.field, tc.got, tc.want)
		}
	}
	if g.ProbeInterval.D() != 2*time.Minute || g.GroupWindow.D() != time.Second {
		t.Errorf("probe_interval %s, group_window %s; want 2m and the harness's 1s", g.ProbeInterval.D(), g.GroupWindow.D())
	}
}

// TestConfigStateDir keeps the state file where StateDir says, for a test
// that puts it on its own file system.
func TestConfigStateDir(t *testing.T) {
	c := Config{Dir: "/tmp/x", StateDir: "/mnt/full"}
	if got := c.StatePath(); got != "/mnt/full/state.db" {
		t.Errorf("StatePath = %q", got)
	}
	if !strings.Contains(c.YAML(), "state_dir: /mnt/full\n") {
		t.Errorf("state_dir not rendered:\n%s", c.YAML())
	}
}

func TestLogBufferTail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\nc\n", 2, "c\n"},
		{"a\nb", 5, "a\nb"},
	} {
		var b LogBuffer
		_, _ = b.Write([]byte(tc.in))
		if got := b.Tail(tc.n); got != tc.want {
			t.Errorf("Tail(%d) of %q = %q, want %q", tc.n, tc.in, got, tc.want)
		}
	}
}
