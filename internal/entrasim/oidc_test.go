package entrasim

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

// TestInstanceDiscovery: production hosts get Entra's alias metadata, any
// other host a 404 (never an empty 200, which breaks MSAL's silent calls).
func TestInstanceDiscovery(t *testing.T) {
	s := startSim(t, testScenario(t, "", ""))
	path := "/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/" + testTenant + "/oauth2/v2.0/authorize"
	var body struct {
		Endpoint string `json:"tenant_discovery_endpoint"`
		Metadata []struct {
			PreferredNetwork string   `json:"preferred_network"`
			Aliases          []string `json:"aliases"`
		} `json:"metadata"`
	}
	resp, err := (&http.Client{Transport: s.RedirectTransport()}).Get("https://login.microsoftonline.com" + path)
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(body.Metadata) != 1 || len(body.Metadata[0].Aliases) != 4 ||
		body.Endpoint != "https://login.microsoftonline.com/"+testTenant+"/v2.0/.well-known/openid-configuration" {
		t.Errorf("mode B discovery: %d %+v %v", resp.StatusCode, body, err)
	}
	resp, err = (&http.Client{Transport: s.ClientTransport()}).Get(s.BaseURL() + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("mode A discovery: status %d, want 404", resp.StatusCode)
	}
}

// TestEventsFollowRunningClock: with the clock running fast, a timed event
// takes effect for the first request after virtual time passes it.
func TestEventsFollowRunningClock(t *testing.T) {
	s, err := New(Options{Clock: clock.NewVirtual(DefaultStart, 3600)}) // an hour per second
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	time.Sleep(200 * time.Millisecond) // > 2 virtual minutes
	resp, err := (&http.Client{Transport: s.ClientTransport()}).Get(s.BaseURL() + "/_sim/tenants")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var n int
	s.Tenant("tailspin-mfa.onmicrosoft.com").View(func(st *TenantState) { n = len(st.Policies) })
	if n != 1 {
		t.Errorf("tailspin policies after the +2m event = %d, want 1", n)
	}
}
