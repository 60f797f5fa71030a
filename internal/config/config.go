// Package config loads the agent's one YAML configuration file (plus an
// optional directory of tenant files) strictly: unknown keys are errors,
// defaults are applied at load, secrets are read from their files or
// systemd credentials, and every problem is reported at once with its file,
// line and field path.
package config

import (
	"time"

	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// DefaultPath is where the packaged service looks for its configuration.
const DefaultPath = "/etc/tokenhealth/config.yaml"

// Config is the whole effective configuration.
type Config struct {
	Global    Global     `yaml:"global"`
	Tenants   []Tenant   `yaml:"tenants"`
	Receivers []Receiver `yaml:"receivers"`
	Routes    []Route    `yaml:"routes"`

	// File is the main configuration file; TenantFiles the tenants.d files
	// that were merged, in load order.
	File        string   `yaml:"-"`
	TenantFiles []string `yaml:"-"`
}

// Global holds the agent-wide settings.
type Global struct {
	StateDir            string   `yaml:"state_dir"`
	StateKeyFile        string   `yaml:"state_key_file"`
	Socket              string   `yaml:"socket"`
	SocketGroup         string   `yaml:"socket_group"`
	MetricsListen       string   `yaml:"metrics_listen"`
	LogLevel            string   `yaml:"log_level"`
	Cloud               string   `yaml:"cloud"`
	AuthorityHost       string   `yaml:"authority_host,omitempty"`
	GraphBaseURL        string   `yaml:"graph_base_url,omitempty"`
	CABundleFile        string   `yaml:"ca_bundle_file,omitempty"`
	ProxyURL            string   `yaml:"proxy_url,omitempty"`
	ClientAppID         string   `yaml:"client_app_id,omitempty"`
	ProbeInterval       Duration `yaml:"probe_interval"`
	ProbeJitter         Jitter   `yaml:"probe_jitter"`
	ProbeTimeout        Duration `yaml:"probe_timeout"`
	MaxConcurrentProbes int      `yaml:"max_concurrent_probes"`

	PolicyRefreshInterval Duration `yaml:"policy_refresh_interval"`
	SigninPollInterval    Duration `yaml:"signin_poll_interval"`

	// A tenant is "unreachable" only after this many consecutive transient
	// failures spanning at least UnreachableAfter: one blip never pages.
	UnreachableAfterFailures int      `yaml:"unreachable_after_failures"`
	UnreachableAfter         Duration `yaml:"unreachable_after"`
	BackoffInitial           Duration `yaml:"backoff_initial"`
	BackoffMax               Duration `yaml:"backoff_max"`

	AlertWarningLead  Duration `yaml:"alert_warning_lead"`
	AlertCriticalLead Duration `yaml:"alert_critical_lead"`
	RepeatInterval    Duration `yaml:"repeat_interval"`
	GroupWindow       Duration `yaml:"group_window"`

	// RememberMFADays is the per-user MFA "remember on trusted devices"
	// window the operator states (Graph cannot read it); 0 means unknown.
	RememberMFADays int    `yaml:"remember_mfa_days"`
	TenantsDir      string `yaml:"tenants_dir,omitempty"`
}

// Client types: a public client redeems with the client id alone; a
// confidential one also proves itself with a secret or certificate.
const (
	ClientPublic       = "public"
	ClientConfidential = "confidential"
)

// Tenant is one customer tenant whose delegated token is watched. After
// load every inherited field holds its effective value.
type Tenant struct {
	ID             string `yaml:"id"`
	Name           string `yaml:"name"`
	ServiceAccount string `yaml:"service_account"`
	ClientAppID    string `yaml:"client_app_id,omitempty"`
	ClientType     string `yaml:"client_type"`

	ClientSecret           secret.Secret `yaml:"client_secret,omitempty"`
	ClientSecretFile       string        `yaml:"client_secret_file,omitempty"`
	ClientSecretCredential string        `yaml:"client_secret_credential,omitempty"`
	ClientCertificateFile  string        `yaml:"client_certificate_file,omitempty"`
	ClientKeyFile          string        `yaml:"client_key_file,omitempty"`

	// PlatformAppID is the platform's app whose sign-ins are watched in
	// the tenant's sign-in logs (default: ClientAppID).
	PlatformAppID   string   `yaml:"platform_app_id"`
	RememberMFADays int      `yaml:"remember_mfa_days"`
	Tags            []string `yaml:"tags,omitempty"`

	ProbeInterval         Duration `yaml:"probe_interval"`
	PolicyRefreshInterval Duration `yaml:"policy_refresh_interval"`
	SigninPollInterval    Duration `yaml:"signin_poll_interval"`

	src   *source // the file the tenant came from
	index int     // its position in that file's tenants list
}

// Source returns the file the tenant was read from, and the field path of
// the tenant inside it (e.g. "tenants[3]"), for messages about it.
func (t *Tenant) Source() (file, path string) {
	if t.src == nil {
		return "", indexPath("tenants", t.index)
	}
	return t.src.file, indexPath("tenants", t.index)
}

// HasTag reports whether the tenant carries any of tags.
func (t *Tenant) HasTag(tags ...string) bool {
	for _, want := range tags {
		for _, have := range t.Tags {
			if have == want {
				return true
			}
		}
	}
	return false
}

// Route sends matching alerts to one receiver. Empty lists match all.
type Route struct {
	Receiver   string            `yaml:"receiver"`
	Severities []health.Severity `yaml:"severities,omitempty"`
	Tags       []string          `yaml:"tags,omitempty"`
	Kinds      []health.Kind     `yaml:"kinds,omitempty"`
}

// Matches reports whether an alert about tenant t with the given severity
// and kind goes to this route's receiver.
func (r *Route) Matches(t *Tenant, sev health.Severity, kind health.Kind) bool {
	if len(r.Severities) > 0 && !contains(r.Severities, sev) {
		return false
	}
	if len(r.Kinds) > 0 && !contains(r.Kinds, kind) {
		return false
	}
	if len(r.Tags) > 0 && (t == nil || !t.HasTag(r.Tags...)) {
		return false
	}
	return true
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// defaults returns a Config holding every default that does not depend on
// the environment; the loader fills those from it (see applyEnvDefaults).
func defaults() Config {
	return Config{Global: Global{
		SocketGroup:              "tokenhealth",
		MetricsListen:            "127.0.0.1:9317",
		LogLevel:                 "info",
		Cloud:                    CloudPublic,
		ProbeInterval:            Duration(15 * time.Minute),
		ProbeJitter:              Jitter{Percent: 10},
		ProbeTimeout:             Duration(30 * time.Second),
		MaxConcurrentProbes:      32,
		PolicyRefreshInterval:    Duration(time.Hour),
		SigninPollInterval:       Duration(15 * time.Minute),
		UnreachableAfterFailures: 3,
		UnreachableAfter:         Duration(30 * time.Minute),
		BackoffInitial:           Duration(time.Minute),
		BackoffMax:               Duration(15 * time.Minute),
		AlertWarningLead:         Duration(72 * time.Hour),
		AlertCriticalLead:        Duration(24 * time.Hour),
		RepeatInterval:           Duration(4 * time.Hour),
		GroupWindow:              Duration(time.Minute),
	}}
}
