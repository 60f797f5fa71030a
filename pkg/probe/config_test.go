package probe

import (
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/config"
)

func TestTargetsAndScheduleFromConfig(t *testing.T) {
	cfg, err := config.LoadBytes("/etc/tokenhealth/config.yaml", []byte(`
global:
  state_dir: /tmp/th-test
  state_key_file: /tmp/th-test/state.key
  cloud: usgov
  client_app_id: 7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b
  probe_interval: 20m
  probe_jitter: 90s
  max_concurrent_probes: 8
  backoff_initial: 2m
  backoff_max: 10m
  unreachable_after_failures: 4
  unreachable_after: 45m
tenants:
  - id: 3C3C3C3C-0000-4000-8000-000000000001
    name: Canary
    service_account: svc@canary.example
  - id: 3c3c3c3c-0000-4000-8000-000000000002
    service_account: svc@other.example
    probe_interval: 5m
`))
	if err != nil {
		t.Fatal(err)
	}
	specs := SpecsFor(cfg)
	if len(specs) != 2 {
		t.Fatalf("%d specs", len(specs))
	}
	want := Target{
		TenantID: "3c3c3c3c-0000-4000-8000-000000000001", Name: "Canary", ServiceAccount: "svc@canary.example",
		ClientAppID: "7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b", ClientType: ClientPublic,
		AuthorityHost: "https://login.microsoftonline.us", Scopes: []string{"https://graph.microsoft.us/.default"},
	}
	if !sameTarget(specs[0].Target, want) || specs[0].Target.Name != want.Name || specs[0].Target.ServiceAccount != want.ServiceAccount {
		t.Errorf("target = %+v\nwant     %+v", specs[0].Target, want)
	}
	if err := specs[0].Target.Validate(); err != nil {
		t.Errorf("configured target does not validate: %v", err)
	}
	if specs[0].Interval != 20*time.Minute || specs[1].Interval != 5*time.Minute {
		t.Errorf("intervals %s, %s; want the global 20m and the override 5m", specs[0].Interval, specs[1].Interval)
	}
	var o SchedulerOptions
	o.ApplyConfig(&cfg.Global)
	if o.Interval != 20*time.Minute || o.Jitter != 90*time.Second || o.MaxConcurrent != 8 ||
		o.BackoffInitial != 2*time.Minute || o.BackoffMax != 10*time.Minute ||
		o.UnreachableAfterFailures != 4 || o.UnreachableAfter != 45*time.Minute {
		t.Errorf("scheduler options = %+v", o)
	}
}

func TestTargetValidate(t *testing.T) {
	ok := Target{TenantID: "3c3c3c3c-0000-4000-8000-000000000001", ClientAppID: "7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b", ClientType: ClientPublic}
	tests := []struct {
		name   string
		modify func(*Target)
		want   string
	}{
		{"valid", func(*Target) {}, ""},
		{"domain instead of GUID", func(t *Target) { t.TenantID = "tokenco.onmicrosoft.com" },
			`tenant id "tokenco.onmicrosoft.com": must be the tenant GUID, not a domain name (MSAL rewrites any authority URL containing "token")`},
		{"client id", func(t *Target) { t.ClientAppID = "canary" },
			`tenant 3c3c3c3c-0000-4000-8000-000000000001: client app id "canary" is not a GUID`},
		{"client type", func(t *Target) { t.ClientType = "daemon" },
			`tenant 3c3c3c3c-0000-4000-8000-000000000001: client type "daemon": must be "public" or "confidential"`},
		{"confidential without credential", func(t *Target) { t.ClientType = ClientConfidential },
			"tenant 3c3c3c3c-0000-4000-8000-000000000001: a confidential client needs exactly one of a client secret or a client certificate"},
		{"certificate without key", func(t *Target) { t.ClientType = ClientConfidential; t.Credential.CertificateFile = "/etc/c.pem" },
			"tenant 3c3c3c3c-0000-4000-8000-000000000001: client certificate /etc/c.pem needs a client key file"},
		{"plain http authority", func(t *Target) { t.AuthorityHost = "http://login.example" },
			`tenant 3c3c3c3c-0000-4000-8000-000000000001: authority host "http://login.example" must be an https URL without a path`},
		{"authority with tenant path", func(t *Target) { t.AuthorityHost = "https://login.microsoftonline.com/common" },
			`tenant 3c3c3c3c-0000-4000-8000-000000000001: authority host "https://login.microsoftonline.com/common" must be an https URL without a path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := ok
			tt.modify(&tg)
			err := tg.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q\nwant         %q", got, tt.want)
			}
		})
	}
}

func TestAuthorityAndDiscovery(t *testing.T) {
	tests := []struct {
		host          string
		wantAuthority string
		wantDiscovery bool
	}{
		{"", "https://login.microsoftonline.com/3c3c3c3c-0000-4000-8000-000000000001", true},
		{"https://login.microsoftonline.us/", "https://login.microsoftonline.us/3c3c3c3c-0000-4000-8000-000000000001", true},
		{"https://127.0.0.1:8443", "https://127.0.0.1:8443/3c3c3c3c-0000-4000-8000-000000000001", false},
	}
	for _, tt := range tests {
		tg := Target{TenantID: "3C3C3C3C-0000-4000-8000-000000000001", AuthorityHost: tt.host}
		if got := tg.Authority(); got != tt.wantAuthority {
			t.Errorf("%q: authority %q, want %q", tt.host, got, tt.wantAuthority)
		}
		if got := tg.instanceDiscovery(); got != tt.wantDiscovery {
			t.Errorf("%q: instance discovery %v, want %v (a non-Microsoft host must never ask login.microsoftonline.com)", tt.host, got, tt.wantDiscovery)
		}
	}
}
