package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/user"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/e2etest"
	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// TestEndToEndCommandsThroughDaemon runs every state-changing command while
// the daemon holds the state file: enrollment (device code, and the
// authorization code flow with a pasted redirect), re-enrollment of a
// failing tenant, silences, the live policy evaluation, reload and
// notify test.
func TestEndToEndCommandsThroughDaemon(t *testing.T) {
	e := newE2E(t)
	// One tenant enrolled directly (no daemon yet), one left for the daemon.
	if out, code := e.CLI("enroll", tenantHealthy, "--config", e.cfg); code != 0 {
		t.Fatalf("direct enroll: exit %d\n%s", code, out)
	}
	e.Start()

	// Device code enrollment through the daemon: the instruction, then the
	// stored enrollment and the daemon's first probe.
	out, code := e.CLI("enroll", tenantSIF, "--config", e.cfg)
	for _, want := range []string{"To sign in, use a web browser", "Enrolled ", "by device code", "Verified by the daemon"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("enroll through the daemon: exit %d, want %q in\n%s", code, want, out)
		}
	}
	if got := tenantByID(e.status(), tenantSIF); got == nil || got.State == health.StatePending {
		t.Fatalf("after enrolling through the daemon the tenant is %+v, want probed", got)
	}

	// A failing tenant re-enrolled through the daemon is healthy at once.
	e.revokeSessions(tenantHealthy)
	if out, code := e.CLI("check", tenantHealthy, "--config", e.cfg); code != 2 {
		t.Fatalf("check after revoking sessions: exit %d, want 2 (failing)\n%s", code, out)
	}
	if got := tenantByID(e.status(), tenantHealthy); got == nil || got.State != health.StateFailing {
		t.Fatalf("revoked tenant is %+v, want failing", got)
	}
	if out, code := e.CLI("enroll", tenantHealthy, "--config", e.cfg); code != 0 || !strings.Contains(out, "Tenant state: healthy") {
		t.Fatalf("re-enroll through the daemon: exit %d\n%s", code, out)
	}
	if got := tenantByID(e.status(), tenantHealthy); got == nil || got.State != health.StateHealthy {
		t.Fatalf("after re-enrollment the tenant is %+v, want healthy", got)
	}

	e.enrollAuthCodePasted(tenantHealthy)

	// Silences through the socket.
	out, code = e.CLI("silence", "add", "--socket", e.sock, "--tenant", tenantSIF, "--for", "4h", "--reason", "maintenance window", "--author", "alice", "--json")
	var s localapi.Silence
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil || s.ID == "" || s.Author != "alice (as "+currentUser(t)+")" {
		t.Fatalf("silence add through the daemon: exit %d\n%s", code, out)
	}
	out, code = e.CLI("silence", "list", "--socket", e.sock)
	if code != 0 || !strings.Contains(out, s.ID) || !strings.Contains(out, "maintenance window") {
		t.Fatalf("silence list: exit %d\n%s", code, out)
	}
	if out, code := e.CLI("silence", "remove", s.ID, "--socket", e.sock); code != 0 {
		t.Fatalf("silence remove: exit %d\n%s", code, out)
	}
	if out, code := e.CLI("silence", "list", "--socket", e.sock); code != 0 || !strings.Contains(out, "no active silences") {
		t.Fatalf("silence list after remove: exit %d\n%s", code, out)
	}
	if out, code := e.CLI("silence", "remove", s.ID, "--socket", e.sock); code != 1 || !strings.Contains(out, "no active silence") {
		t.Fatalf("removing a removed silence: exit %d\n%s", code, out)
	}

	// The live policy evaluation, once the daemon has read the policies.
	e.Eventually("the daemon read the SIF tenant's policies", 60*time.Second, func() bool {
		out, code := e.CLI("policies", tenantSIF, "--socket", e.sock, "--json")
		var pr localapi.PoliciesResponse
		return code == 0 && json.Unmarshal([]byte(out), &pr) == nil && !pr.ReadAt.IsZero()
	})
	out, code = e.CLI("policies", tenantSIF, "--socket", e.sock)
	if code != 0 || !strings.Contains(out, "IMPACT") || !strings.Contains(out, "Sign-in frequency 7 days") || !strings.Contains(out, "breaks_after") {
		t.Fatalf("policies TENANT: exit %d\n%s", code, out)
	}
	if i, j := strings.Index(out, "breaks_after"), strings.Index(out, "\nnone "); j >= 0 && i > j {
		t.Fatalf("breaking policies are not listed first:\n%s", out)
	}

	// notify test needs only the configuration: it works beside the daemon.
	if out, code := e.CLI("notify", "test", "ops", "--config", e.cfg); code != 0 || !e.slackSaid("TEST ALERT") {
		t.Fatalf("notify test with the daemon running: exit %d\n%s", code, out)
	}

	// reload picks up a third tenant.
	e.writeConfig(tenantHealthy, tenantSIF, tenantEvery)
	if out, code := e.CLI("reload", "--socket", e.sock); code != 0 || !strings.Contains(out, "3 tenants") {
		t.Fatalf("reload: exit %d\n%s", code, out)
	}
	if err := os.WriteFile(e.cfg, []byte("global: {probe_interval: 5s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := e.CLI("reload", "--socket", e.sock); code != 1 || !strings.Contains(out, "refused") {
		t.Fatalf("reload of an invalid configuration: exit %d\n%s", code, out)
	}
	e.Stop()
}

// revokeSessions ends every session of the tenant's service account in the
// simulator, as an administrator's revokeSignInSessions would.
func (e *e2e) revokeSessions(tenantID string) {
	e.t.Helper()
	tn := e.sim.Tenant(tenantID)
	if err := tn.RevokeSessions("svc-sync@"+tn.Domain, e.sim.Now()); err != nil {
		e.t.Fatal(err)
	}
}

// enrollAuthCodePasted enrolls with --auth-code through the daemon the way
// an operator does: open the printed URL in a browser, paste the address
// the browser lands on.
func (e *e2e) enrollAuthCodePasted(tenantID string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2etest.CLILimit)
	defer cancel()
	cmd := e.Command(ctx, "enroll", tenantID, "--auth-code", "--config", e.cfg)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	var transcript strings.Builder
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	signInURL := ""
	for signInURL == "" && sc.Scan() {
		line := sc.Text()
		transcript.WriteString(line + "\n")
		if strings.HasPrefix(line, "https://") && strings.Contains(line, "/authorize?") {
			signInURL = line
		}
	}
	if signInURL == "" {
		_ = cmd.Wait()
		e.t.Fatalf("no sign-in URL from enroll --auth-code:\n%s%s", transcript.String(), stderr.String())
	}
	browser := &http.Client{Transport: e.sim.RedirectTransport(), CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := browser.Get(signInURL)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	landed := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || landed == "" {
		e.t.Fatalf("the simulated sign-in answered %s", resp.Status)
	}
	if _, err := io.WriteString(stdin, landed+"\n"); err != nil {
		e.t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	transcript.Write(rest)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(transcript.String(), "authorization code with PKCE") {
		e.t.Fatalf("enroll --auth-code through the daemon: exit %d\n%s%s", code, transcript.String(), stderr.String())
	}
	if strings.Contains(e.Logs.String(), "code=") {
		e.t.Fatalf("the daemon logged an authorization code:\n%s", e.Logs)
	}
}

func currentUser(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}
