package config

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"15m", 15 * time.Minute, false},
		{"72h", 72 * time.Hour, false},
		{"7d", 7 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{" 90s ", 90 * time.Second, false},
		{"0s", 0, false},
		{"1.5h", 90 * time.Minute, false},
		{"-5m", 0, true},
		{"d", 0, true},
		{"7days", 0, true},
		{"1.5d", 0, true},
		{"15", 0, true},
		{"", 0, true},
		{"99999999d", 0, true},
	}
	for _, c := range cases {
		got, err := ParseDuration(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestDurationYAML(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // rendering, or the error
	}{
		{"15m", "15m"},
		{"72h", "72h"},
		{"7d", "168h"},
		{"1h30m", "1h30m"},
		{"90s", "1m30s"},
		{"2h0m5s", "2h0m5s"},
		{"30", `invalid duration "30": add a unit, such as 30s or 30m`},
		{"[1m]", "expected a duration such as 15m or 7d, got a list"},
	} {
		var d Duration
		got := ""
		if err := yaml.Unmarshal([]byte(c.in), &d); err != nil {
			got = err.Error()
		} else {
			got = d.String()
		}
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

func TestJitter(t *testing.T) {
	for _, c := range []struct {
		in       string
		interval time.Duration
		want     time.Duration
		rendered string
	}{
		{"10%", 15 * time.Minute, 90 * time.Second, "10%"},
		{"12.5 %", 8 * time.Minute, time.Minute, "12.5%"},
		{"0%", 15 * time.Minute, 0, "0%"},
		{"90s", 15 * time.Minute, 90 * time.Second, "1m30s"},
	} {
		var j Jitter
		if err := yaml.Unmarshal([]byte(c.in), &j); err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := j.For(c.interval); got != c.want {
			t.Errorf("%q.For(%v) = %v, want %v", c.in, c.interval, got, c.want)
		}
		if j.String() != c.rendered {
			t.Errorf("%q renders as %q, want %q", c.in, j.String(), c.rendered)
		}
	}
}

func TestEndpoints(t *testing.T) {
	cases := []struct {
		g    Global
		want Endpoints
	}{
		{Global{Cloud: CloudPublic}, Endpoints{"https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/beta", "https://graph.microsoft.com/.default"}},
		{Global{Cloud: CloudUSGov}, Endpoints{"https://login.microsoftonline.us", "https://graph.microsoft.us/v1.0", "https://graph.microsoft.us/beta", "https://graph.microsoft.us/.default"}},
		{Global{Cloud: CloudChina}, Endpoints{"https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/v1.0", "https://microsoftgraph.chinacloudapi.cn/beta", "https://microsoftgraph.chinacloudapi.cn/.default"}},
		{Global{Cloud: CloudCustom, AuthorityHost: "https://127.0.0.1:8443/", GraphBaseURL: "https://127.0.0.1:8443/v1.0/"},
			Endpoints{"https://127.0.0.1:8443", "https://127.0.0.1:8443/v1.0", "https://127.0.0.1:8443/beta", "https://127.0.0.1:8443/.default"}},
	}
	for _, c := range cases {
		if got := c.g.Endpoints(); got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.g.Cloud, got, c.want)
		}
	}
	g := Global{Cloud: CloudUSGov}
	if got := g.AuthorityURL("6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"); got != "https://login.microsoftonline.us/6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f" {
		t.Errorf("AuthorityURL = %q", got)
	}
}

func TestClosest(t *testing.T) {
	known := []string{"service_account", "client_app_id", "client_type", "tags", "id", "name"}
	for in, want := range map[string]string{
		"servce_account":  "service_account",
		"service_acount":  "service_account",
		"serivce_account": "service_account", // transposition counts once
		"client_typ":      "client_type",
		"tag":             "tags",
		"nmae":            "name",
		"ids":             "id",
		"account":         "",
		"zz":              "",
		"client":          "",
	} {
		if got := closest(in, known); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSummaryWording(t *testing.T) {
	cfg := mustLoad(t, nil, `
global:
  client_app_id: 1b730954-1685-4b74-9bfd-dac224a7b894
  probe_interval: 1h30m
tenants:
  - id: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f
    service_account: svc@contoso.com
receivers:
  - name: am
    alertmanager: {url: "http://[::1]:9093"}
routes:
  - receiver: am
`)
	if got, want := cfg.Summary(), "config OK: 1 tenant, 1 receiver, 1 route, probe every 1h30m"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	if got := mustLoad(t, nil, "").Summary(); got != "config OK: 0 tenants, 0 receivers, 0 routes, probe every 15m" {
		t.Errorf("empty config summary %q", got)
	}
}

// The effective configuration printed by `config show` loads again and
// means the same thing.
func TestRedactedYAMLRoundTrips(t *testing.T) {
	cfg := mustLoad(t, nil, `
global:
  client_app_id: 1b730954-1685-4b74-9bfd-dac224a7b894
  probe_jitter: 2m
tenants:
  - id: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f
    service_account: svc@contoso.com
    tags: [gold]
receivers:
  - name: am
    alertmanager: {url: "http://127.0.0.1:9093"}
routes:
  - receiver: am
    severities: [critical]
`)
	out, err := cfg.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	again := mustLoad(t, nil, string(out))
	if again.Global != cfg.Global || again.Tenants[0].ProbeInterval != cfg.Tenants[0].ProbeInterval ||
		again.Global.ProbeJitter.Duration != 2*time.Minute || !strings.Contains(string(out), "severities:\n      - critical") {
		t.Errorf("round trip changed the configuration:\n%s", out)
	}
}
