package agent

import (
	"errors"
	"io"
	"testing"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

func TestChooseFlow(t *testing.T) {
	tests := []struct {
		name    string
		req     localapi.EnrollRequest
		client  probe.ClientType
		want    string
		wantErr string
	}{
		{"public default", localapi.EnrollRequest{}, probe.ClientPublic, localapi.FlowDeviceCode, ""},
		{"confidential default", localapi.EnrollRequest{}, probe.ClientConfidential, localapi.FlowAuthCode, ""},
		{"public auth code with listener", localapi.EnrollRequest{Flow: "authCode", Listen: "127.0.0.1:8400"}, probe.ClientPublic, localapi.FlowAuthCode, ""},
		{"confidential device code", localapi.EnrollRequest{Flow: "deviceCode"}, probe.ClientConfidential, "",
			`bad request: flow "deviceCode" needs a public client; a confidential client enrolls with "authCode"`},
		{"listen without auth code", localapi.EnrollRequest{Listen: "127.0.0.1:8400"}, probe.ClientPublic, "",
			`bad request: listen "127.0.0.1:8400" only applies to flow "authCode"`},
		{"unknown flow", localapi.EnrollRequest{Flow: "password"}, probe.ClientPublic, "",
			`bad request: flow "password": must be "deviceCode" or "authCode"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chooseFlow(tt.req, tt.client)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, localapi.ErrBadRequest) {
					t.Fatalf("chooseFlow = %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("chooseFlow = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestEnrollmentsOnePerTenant checks the bookkeeping behind the redirect
// route: a second sign-in of the same tenant is a conflict, ids find their
// enrollment only while it runs.
func TestEnrollmentsOnePerTenant(t *testing.T) {
	var e enrollments
	_, pw := io.Pipe()
	p, err := e.begin("t1", pw)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.id) != 32 {
		t.Fatalf("enrollment id %q: want 128 random bits in hex", p.id)
	}
	if _, err := e.begin("t1", nil); !errors.Is(err, localapi.ErrConflict) {
		t.Fatalf("second enrollment of t1: %v, want a conflict", err)
	}
	other, err := e.begin("t2", nil)
	if err != nil || other.id == p.id {
		t.Fatalf("enrollment of t2: %+v, %v", other, err)
	}
	if e.find(p.id) != p {
		t.Fatal("the running enrollment is not found by its id")
	}
	e.end(p)
	if e.find(p.id) != nil {
		t.Fatal("an ended enrollment is still found")
	}
	if _, err := e.begin("t1", nil); err != nil {
		t.Fatalf("enrolling t1 again after the first ended: %v", err)
	}
}
