package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// TestDemoOnce is the README's first command in its CI form: one full pass
// over the embedded tenants, then the status document on stdout.
func TestDemoOnce(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
	if code := dispatch(env, []string{"demo", "--once"}); code != 0 {
		t.Fatalf("demo --once exited %d\nstderr:\n%s", code, stderr.String())
	}
	var st localapi.StatusResponse
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatalf("stdout is not the status document: %v\n%s", err, stdout.String())
	}
	if len(st.Tenants) != 6 {
		t.Fatalf("%d tenants in the demo status, want 6", len(st.Tenants))
	}
	states := map[health.State]int{}
	for _, ts := range st.Tenants {
		if ts.LastProbe.IsZero() {
			t.Errorf("tenant %s was not probed in the pass", ts.Name)
		}
		states[ts.State]++
	}
	if states[health.StateHealthy] == 0 || states[health.StateWarning] == 0 {
		t.Errorf("the pass should show healthy and warning tenants, got %v", states)
	}
	if !strings.Contains(stderr.String(), "enrolled") {
		t.Errorf("progress (enrollment lines) should go to stderr: %s", stderr.String())
	}
}
