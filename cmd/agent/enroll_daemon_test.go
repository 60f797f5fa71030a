package main

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

func TestEnrollFailureThroughDaemon(t *testing.T) {
	d := probe.Diagnosis{Codes: []int{53003}, Cause: "blocked_by_conditional_access", Explanation: "A Conditional Access policy blocked the sign-in."}
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"diagnosed", &localapi.EnrollFailure{Err: errors.New("enrollment of t1 failed: AADSTS53003"), Diagnosis: &d},
			[]string{"enrollment of contoso failed (the daemon ran the sign-in)", "Cause: blocked_by_conditional_access (AADSTS53003)", "A Conditional Access policy blocked the sign-in."}},
		{"not writer", &localapi.APIError{Status: http.StatusForbidden, Message: "this action needs root or the tokenhealth service user"},
			[]string{"tokenhealth: enrollment refused by the daemon: this action needs root or the tokenhealth service user\n"}},
		{"not in the daemon's configuration", &localapi.APIError{Status: http.StatusNotFound, Message: `tenant "contoso" is not in the configuration`},
			[]string{"if you just added it, run 'tokenhealth reload' first"}},
		{"credential in a plain error", errors.New("token endpoint said refresh_token=0.AAAAsecretsecretsecretsecret"),
			[]string{"enrollment failed: token endpoint said"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := enrollFailure(&cliEnv{stdout: &out, stderr: &errb}, "contoso", tt.err); code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
			if strings.Contains(errb.String(), "secretsecret") {
				t.Errorf("a credential reached the output:\n%s", errb.String())
			}
		})
	}
}

func TestPrintDaemonEnrollment(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	base := localapi.EnrollOutcome{TenantID: "t1", Name: "Contoso", Enrollment: localapi.Enrollment{
		Method: "deviceCode", ClientType: "public", Account: "svc@contoso.com", InteractiveSignIn: at,
		SignInSource: probe.SignInSourceAuthTime, GrantedScopes: []string{"User.Read"},
	}}
	tests := []struct {
		name  string
		probe *localapi.ProbeEvent
		state health.State
		code  int
		want  string
	}{
		{"verified", &localapi.ProbeEvent{Outcome: "ok", LatencyMS: 42}, health.StateHealthy, 0, "Verified by the daemon: the refresh token redeems (42 ms). Tenant state: healthy.\n"},
		{"probe pending", nil, health.StatePending, 0, "The daemon is probing the new token; 'tokenhealth status' shows the result.\n"},
		{"first probe fails", &localapi.ProbeEvent{Outcome: "definitive", Codes: []int{50173}, Cause: "tokens_revoked", Message: "revoked"}, health.StateFailing, 2, "The daemon's first probe with the new token: definitive\n"},
		{"first probe transient", &localapi.ProbeEvent{Outcome: "transient", Codes: []int{}, Message: "timeout"}, health.StatePending, 1, "first probe with the new token: transient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			o.Probe, o.Tenant.State = tt.probe, tt.state
			var out bytes.Buffer
			code := printDaemonEnrollment(&cliEnv{stdout: &out, stderr: &out}, o)
			if code != tt.code || !strings.Contains(out.String(), tt.want) {
				t.Fatalf("exit %d (want %d), output:\n%s\nwant %q", code, tt.code, out.String(), tt.want)
			}
			head := "\nEnrolled Contoso (t1) as svc@contoso.com by device code, public client.\n" +
				"  Interactive sign-in: 2026-11-27T10:00:00Z (from the id_token's auth_time)\n"
			if !strings.HasPrefix(out.String(), head) {
				t.Fatalf("output starts %q, want %q", out.String(), head)
			}
		})
	}
}
