package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
)

// TestServeAndTenants starts the command on a free port with a generated
// scenario, reads its ready line, and configures a client from the CA file
// and GET /_sim/tenants, as an outside process would.
func TestServeAndTenants(t *testing.T) {
	dir := t.TempDir()
	scenario, ca := filepath.Join(dir, "s.yaml"), filepath.Join(dir, "ca.pem")
	var errOut strings.Builder
	if code := run([]string{"generate", "--tenants", "25", "--out", scenario}, io.Discard, &errOut, nil); code != 0 {
		t.Fatalf("generate exited %d: %s", code, errOut.String())
	}
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		code := run([]string{"--listen", "127.0.0.1:0", "--scenario", scenario, "--ca-out", ca, "--speed", "0"}, pw, &errOut, func() { <-stop })
		pw.Close() // unblocks the reader if run failed before its ready line
		done <- code
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "entrasim listening on https://127.0.0.1:") {
		t.Fatalf("ready line = %q, %v (stderr %s)", line, err, errOut.String())
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "entrasim listening on "))
	pool, err := entrasim.LoadCAPool(ca)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(base + "/_sim/tenants")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Tenants []entrasim.TenantSummary `json:"tenants"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || len(body.Tenants) != 25 {
		t.Fatalf("tenants: %d, %v", len(body.Tenants), err)
	}
	first := body.Tenants[0]
	if first.Domain != "tenant00000.onmicrosoft.com" || len(first.Users) != 3 || len(first.ClientApps) != 1 ||
		first.ClientApps[0].AppID != entrasim.CanaryAppID || len(first.NamedLocations) != 1 {
		t.Errorf("first tenant = %+v", first)
	}
	// Mode B from another process: production host name over the redirecting dialer.
	addr := strings.TrimPrefix(base, "https://")
	mb := &http.Client{Transport: entrasim.RedirectTransport(addr, pool)}
	resp, err = mb.Get("https://login.microsoftonline.com/" + first.ID + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var oidc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&oidc)
	resp.Body.Close()
	if oidc["issuer"] != "https://login.microsoftonline.com/"+first.ID+"/v2.0" {
		t.Errorf("issuer = %v", oidc["issuer"])
	}
	close(stop)
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--speed", "-1"}, "--speed must not be negative"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--scenario", "/nonexistent.yaml"}, "/nonexistent.yaml"},
		{[]string{"generate", "--tenants", "0", "--out", "x"}, "--tenants must be positive"},
	}
	for _, tc := range cases {
		var errOut strings.Builder
		if code := run(tc.args, io.Discard, &errOut, func() {}); code == 0 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("run(%v) = %d, stderr %q; want failure mentioning %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}
