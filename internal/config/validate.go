package config

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/secret"
)

// Limits on the global settings. The minimums protect customer tenants
// from being hammered (Entra throttles per tenant) and the agent from a
// schedule it cannot keep.
const (
	MinProbeInterval         = time.Minute
	MinPolicyRefreshInterval = 5 * time.Minute
	MinSigninPollInterval    = time.Minute
	MaxJitterPercent         = 50
	MaxConcurrentProbes      = 1024
	MaxRememberMFADays       = 365
	// maxSocketPath is sun_path's size on Linux minus the terminating NUL.
	maxSocketPath = 107
)

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidRE.MatchString(s) }

// validate runs every check that does not need the network.
func (l *loader) validate(cfg *Config, main *source) {
	l.validateGlobal(&cfg.Global, main)
	l.validateTenants(cfg)
	names := l.validateReceivers(cfg.Receivers, main)
	l.validateRoutes(cfg.Routes, names, main)
}

func (l *loader) validateGlobal(g *Global, src *source) {
	const p = "global."
	l.absPath(src, p+"state_dir", g.StateDir)
	l.absPath(src, p+"socket", g.Socket)
	if len(g.Socket) > maxSocketPath {
		l.ps.add(src, p+"socket", "path is %d bytes long; a unix socket path must be at most %d", len(g.Socket), maxSocketPath)
	}
	if info, err := os.Stat(g.StateKeyFile); err == nil {
		if err := secret.CheckFileMode(g.StateKeyFile, info); err != nil {
			l.ps.add(src, p+"state_key_file", "%v", err)
		}
	}
	if g.MetricsListen != "" {
		if _, port, err := net.SplitHostPort(g.MetricsListen); err != nil || !validPort(port) {
			l.ps.add(src, p+"metrics_listen", "%q is not host:port (e.g. 127.0.0.1:9317); use \"\" to disable metrics", g.MetricsListen)
		}
	}
	switch g.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		l.ps.add(src, p+"log_level", "%q is not one of debug, info, warn, error", g.LogLevel)
	}
	l.validateCloud(g, src)
	if g.CABundleFile != "" {
		l.caBundle(src, p+"ca_bundle_file", g.CABundleFile)
	}
	if g.ProxyURL != "" {
		u, err := url.Parse(g.ProxyURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
			l.ps.add(src, p+"proxy_url", "must be an absolute http://, https:// or socks5:// URL with a host")
		}
	}
	if g.ClientAppID != "" && !isGUID(g.ClientAppID) {
		l.ps.add(src, p+"client_app_id", "%q is not a GUID (the application (client) ID from the app registration)", g.ClientAppID)
	}
	l.validateSchedule(g, src)
	l.validateAlerting(g, src)
	if g.RememberMFADays < 0 || g.RememberMFADays > MaxRememberMFADays {
		l.ps.add(src, p+"remember_mfa_days", "%d is out of range (0 for unknown, 1..%d)", g.RememberMFADays, MaxRememberMFADays)
	}
}

func (l *loader) validateSchedule(g *Global, src *source) {
	const p = "global."
	if g.ProbeInterval.D() < MinProbeInterval {
		// Reported once; comparing jitter and timeout with it would only add noise.
		l.minDuration(src, p+"probe_interval", g.ProbeInterval, MinProbeInterval)
	} else {
		l.probeSpread(g, src)
	}
	if g.MaxConcurrentProbes < 1 || g.MaxConcurrentProbes > MaxConcurrentProbes {
		l.ps.add(src, p+"max_concurrent_probes", "%d is out of range (1..%d)", g.MaxConcurrentProbes, MaxConcurrentProbes)
	}
	l.minDuration(src, p+"policy_refresh_interval", g.PolicyRefreshInterval, MinPolicyRefreshInterval)
	l.minDuration(src, p+"signin_poll_interval", g.SigninPollInterval, MinSigninPollInterval)
	if g.UnreachableAfterFailures < 1 {
		l.ps.add(src, p+"unreachable_after_failures", "%d must be at least 1", g.UnreachableAfterFailures)
	}
	if g.BackoffInitial <= 0 {
		l.ps.add(src, p+"backoff_initial", "must be above 0")
	}
	if g.BackoffMax < g.BackoffInitial {
		l.ps.add(src, p+"backoff_max", "%s is below backoff_initial (%s)", g.BackoffMax, g.BackoffInitial)
	}
}

// probeSpread checks jitter and timeout against a valid probe interval.
func (l *loader) probeSpread(g *Global, src *source) {
	const p = "global."
	switch j := g.ProbeJitter; {
	case j.Duration == 0 && (j.Percent < 0 || j.Percent > MaxJitterPercent):
		l.ps.add(src, p+"probe_jitter", "%s is out of range (0%% to %d%% of the probe interval)", j, MaxJitterPercent)
	case j.Duration > 0 && j.Duration >= g.ProbeInterval.D():
		l.ps.add(src, p+"probe_jitter", "%s must be smaller than probe_interval (%s)", j, g.ProbeInterval)
	}
	if g.ProbeTimeout <= 0 || g.ProbeTimeout >= g.ProbeInterval {
		l.ps.add(src, p+"probe_timeout", "%s must be above 0 and below probe_interval (%s)", g.ProbeTimeout, g.ProbeInterval)
	}
}

func (l *loader) validateAlerting(g *Global, src *source) {
	const p = "global."
	if g.AlertWarningLead <= 0 {
		l.ps.add(src, p+"alert_warning_lead", "must be above 0")
	}
	if g.AlertCriticalLead <= 0 {
		l.ps.add(src, p+"alert_critical_lead", "must be above 0")
	} else if g.AlertCriticalLead >= g.AlertWarningLead {
		l.ps.add(src, p+"alert_critical_lead", "%s must be shorter than alert_warning_lead (%s): a break becomes critical after it was a warning", g.AlertCriticalLead, g.AlertWarningLead)
	}
	l.minDuration(src, p+"repeat_interval", g.RepeatInterval, time.Minute)
	if g.GroupWindow > Duration(time.Hour) {
		l.ps.add(src, p+"group_window", "%s is above the maximum of 1h (alerts would wait that long)", g.GroupWindow)
	}
}

// validateCloud checks the cloud name and the custom endpoints, which are
// required for custom and meaningless (so refused) for the others.
func (l *loader) validateCloud(g *Global, src *source) {
	const p = "global."
	switch g.Cloud {
	case CloudPublic, CloudUSGov, CloudChina:
		for _, f := range []struct{ name, value string }{{"authority_host", g.AuthorityHost}, {"graph_base_url", g.GraphBaseURL}} {
			if f.value != "" {
				l.ps.add(src, p+f.name, "only used with cloud: custom (cloud is %s, whose endpoints are built in); remove it or set cloud: custom", g.Cloud)
			}
		}
	case CloudCustom:
		if g.AuthorityHost == "" {
			l.required(src, p+"authority_host", "required with cloud: custom (the sign-in base URL, e.g. https://login.example)")
		} else if u, err := url.Parse(g.AuthorityHost); err != nil || u.Scheme != "https" || u.Host == "" {
			l.ps.add(src, p+"authority_host", "must be an https:// URL (MSAL accepts no other scheme)")
		} else if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			l.ps.add(src, p+"authority_host", "must be the host only, without a path: MSAL takes the first path segment as the tenant")
		}
		if g.GraphBaseURL == "" {
			l.required(src, p+"graph_base_url", "required with cloud: custom (the Graph v1.0 base URL, e.g. https://graph.example/v1.0)")
		} else if msg := checkServiceURL(g.GraphBaseURL); msg != "" {
			l.ps.add(src, p+"graph_base_url", "%s", msg)
		} else if u, _ := url.Parse(g.GraphBaseURL); !hasV1Suffix(u.Path) {
			l.ps.add(src, p+"graph_base_url", "must end in /v1.0 (the beta base is derived from it)")
		}
	default:
		l.ps.add(src, p+"cloud", "%q is not one of public, usgov, china, custom", g.Cloud)
	}
}

func hasV1Suffix(path string) bool {
	return path == "/v1.0" || path == "/v1.0/" || filepath.Base(path) == "v1.0"
}

// checkServiceURL returns why raw is not acceptable as a service URL, or
// "": absolute http(s), and plain http only to a loopback host.
func checkServiceURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "must be an absolute http:// or https:// URL"
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Sprintf("plain http:// is refused for non-loopback host %q; use https://", u.Hostname())
	}
	return ""
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

// caBundle checks that the bundle parses: a wrong file here would make
// every TLS connection fail at 3 a.m. instead of at start.
func (l *loader) caBundle(src *source, path, file string) {
	pem, err := os.ReadFile(file)
	if err != nil {
		l.ps.add(src, path, "cannot read %s: %v", file, rootCause(err))
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		l.ps.add(src, path, "%s contains no PEM certificate", file)
	}
}

func (l *loader) absPath(src *source, path, value string) {
	if !filepath.IsAbs(value) {
		l.ps.add(src, path, "%q must be an absolute path", value)
	}
}

func (l *loader) minDuration(src *source, path string, d Duration, minimum time.Duration) {
	if d.D() < minimum {
		l.ps.add(src, path, "%s is below the minimum of %s", d, Duration(minimum))
	}
}

// required reports a missing field, unless an unknown key was probably
// meant for it (that typo is already reported).
func (l *loader) required(src *source, path, msg string) {
	if !src.misspelt[path] {
		l.ps.add(src, path, "%s", msg)
	}
}

// rootCause strips the operation and path an *os.PathError repeats.
func rootCause(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
