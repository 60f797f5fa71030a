package config

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/secret"
)

// validateTenants checks every tenant in the file it came from, and tenant
// ids for duplicates across all files.
func (l *loader) validateTenants(cfg *Config) {
	type firstSeen struct {
		file string
		line int
	}
	seen := map[string]firstSeen{}
	for i := range cfg.Tenants {
		t := &cfg.Tenants[i]
		file, p := t.Source()
		l.validateTenant(t, p)
		if t.ID == "" {
			continue
		}
		key := strings.ToLower(t.ID)
		if first, dup := seen[key]; dup {
			where := fmt.Sprintf("on line %d", first.line)
			if first.file != file {
				where = fmt.Sprintf("at %s:%d", first.file, first.line)
			}
			l.ps.add(t.src, p+".id", "duplicate tenant id %s (first defined %s)", t.ID, where)
			continue
		}
		seen[key] = firstSeen{file: file, line: t.src.lineOf(p + ".id")}
	}
}

func (l *loader) validateTenant(t *Tenant, p string) {
	src := t.src
	switch {
	case t.ID == "":
		l.required(src, p+".id", "required (the tenant GUID, Directory (tenant) ID in the Entra admin center)")
	case !isGUID(t.ID) && strings.Contains(t.ID, "."):
		l.ps.add(src, p+".id", "%q is a domain name; use the tenant GUID: MSAL rewrites any URL containing \"token\" and domain names can change", t.ID)
	case !isGUID(t.ID):
		l.ps.add(src, p+".id", "%q is not a GUID (the Directory (tenant) ID in the Entra admin center)", t.ID)
	}
	if t.ServiceAccount == "" {
		l.required(src, p+".service_account", "required (the UPN of the account whose delegated token the platform holds)")
	} else if !isUPN(t.ServiceAccount) {
		l.ps.add(src, p+".service_account", "%q is not a UPN (user@domain, e.g. svc-sync@contoso.com)", t.ServiceAccount)
	}
	// Inherited ids were checked where they were written.
	switch {
	case t.ClientAppID == "":
		l.required(src, p+".client_app_id", "required: set it on the tenant or as global.client_app_id")
	case src.has(p+".client_app_id") && !isGUID(t.ClientAppID):
		l.ps.add(src, p+".client_app_id", "%q is not a GUID (the application (client) ID of the platform's app registration)", t.ClientAppID)
	}
	if src.has(p+".platform_app_id") && !isGUID(t.PlatformAppID) {
		l.ps.add(src, p+".platform_app_id", "%q is not a GUID", t.PlatformAppID)
	}
	l.validateClientCredentials(t, p)
	if t.RememberMFADays < 0 || t.RememberMFADays > MaxRememberMFADays {
		l.ps.add(src, p+".remember_mfa_days", "%d is out of range (0 for unknown, 1..%d)", t.RememberMFADays, MaxRememberMFADays)
	}
	for i, tag := range t.Tags {
		if strings.TrimSpace(tag) == "" {
			l.ps.add(src, indexPath(p+".tags", i), "empty tag")
		}
	}
	// Inherited intervals were checked once, under global.
	for _, iv := range []struct {
		key     string
		value   Duration
		minimum time.Duration
	}{
		{"probe_interval", t.ProbeInterval, MinProbeInterval},
		{"policy_refresh_interval", t.PolicyRefreshInterval, MinPolicyRefreshInterval},
		{"signin_poll_interval", t.SigninPollInterval, MinSigninPollInterval},
	} {
		if src.has(p + "." + iv.key) {
			l.minDuration(src, p+"."+iv.key, iv.value, iv.minimum)
		}
	}
}

// isUPN accepts user@domain.tld: Entra UPNs always carry a verified (or
// onmicrosoft.com) domain, so a bare name or a domain-less address is a
// mistake.
func isUPN(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.ContainsAny(s, " \t<>,;\"") || strings.Contains(domain, "@") {
		return false
	}
	dot := strings.LastIndexByte(domain, '.')
	return dot > 0 && dot < len(domain)-1
}

// validateClientCredentials: a confidential client proves itself with
// exactly one of a secret or a certificate; a public client has neither.
func (l *loader) validateClientCredentials(t *Tenant, p string) {
	src := t.src
	hasSecret := !t.ClientSecret.IsZero() || t.ClientSecretFile != "" || t.ClientSecretCredential != ""
	hasCert := t.ClientCertificateFile != "" || t.ClientKeyFile != ""
	switch t.ClientType {
	case ClientPublic:
		if hasSecret {
			l.ps.add(src, p+".client_secret", "a public client has no secret; remove it or set client_type: confidential")
		}
		if hasCert {
			l.ps.add(src, p+".client_certificate_file", "a public client has no certificate; remove it or set client_type: confidential")
		}
		return
	case ClientConfidential:
	default:
		l.ps.add(src, p+".client_type", "%q is not one of public, confidential", t.ClientType)
		return
	}
	switch {
	case !hasSecret && !hasCert:
		l.ps.add(src, p+".client_type", "a confidential client needs client_secret (or _file/_credential) or client_certificate_file and client_key_file")
	case hasSecret && hasCert:
		l.ps.add(src, p+".client_certificate_file", "set either a client secret or a certificate, not both")
	case hasCert:
		l.clientCertificate(t, p)
	}
}

// clientCertificate checks that the certificate and key exist, that the
// key is private to the service, and that they form a pair.
func (l *loader) clientCertificate(t *Tenant, p string) {
	src := t.src
	if t.ClientCertificateFile == "" {
		l.ps.add(src, p+".client_certificate_file", "required with client_key_file")
		return
	}
	if t.ClientKeyFile == "" {
		l.ps.add(src, p+".client_key_file", "required with client_certificate_file")
		return
	}
	certPEM, err := os.ReadFile(t.ClientCertificateFile)
	if err != nil {
		l.ps.add(src, p+".client_certificate_file", "cannot read %s: %v", t.ClientCertificateFile, rootCause(err))
		return
	}
	key, err := secret.ReadFile(t.ClientKeyFile)
	if err != nil {
		l.ps.add(src, p+".client_key_file", "%v", err)
		return
	}
	if _, err := tls.X509KeyPair(certPEM, []byte(key.Reveal())); err != nil {
		l.ps.add(src, p+".client_certificate_file", "certificate and key do not form a PEM pair: %v", err)
	}
}
