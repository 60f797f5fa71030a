package probe

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/tokenhealth/tokenhealth/internal/secret"
)

// ClientType says how the client app proves itself at the token endpoint.
type ClientType string

const (
	// ClientPublic redeems with the client id alone (device code and auth
	// code with PKCE, "Allow public client flows" on the registration).
	ClientPublic ClientType = "public"
	// ClientConfidential also presents a secret or a certificate.
	ClientConfidential ClientType = "confidential"
)

// GraphScope is the scope a canary token is issued for in the public cloud:
// the permissions the platform's app was consented.
const GraphScope = "https://graph.microsoft.com/.default"

// DefaultAuthorityHost is the public cloud's login host.
const DefaultAuthorityHost = "https://login.microsoftonline.com"

// Credential is a confidential client's proof: a secret, or a certificate
// and its private key (PEM files, read when the client is built).
type Credential struct {
	Secret          secret.Secret
	CertificateFile string
	KeyFile         string
}

// IsZero reports whether no credential is set.
func (c Credential) IsZero() bool {
	return c.Secret.IsZero() && c.CertificateFile == "" && c.KeyFile == ""
}

// Target is everything one tenant's probe needs to know.
type Target struct {
	TenantID       string // tenant GUID, lower case: never a domain (pitfall P1)
	Name           string // display name for messages
	ServiceAccount string // UPN of the watched account
	ClientAppID    string // the platform's client app (GUID)
	ClientType     ClientType
	Credential     Credential
	// AuthorityHost is the login host with scheme, without the tenant:
	// "https://login.microsoftonline.com" or the simulator's address.
	AuthorityHost string
	// Scopes requested at enrollment and at every refresh; default the
	// cloud's Graph ".default" scope.
	Scopes []string
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Validate checks the fields the MSAL client needs and names the bad one.
func (t Target) Validate() error {
	if !guidPattern.MatchString(t.TenantID) {
		return fmt.Errorf("tenant id %q: must be the tenant GUID, not a domain name (MSAL rewrites any authority URL containing \"token\")", t.TenantID)
	}
	if !guidPattern.MatchString(t.ClientAppID) {
		return fmt.Errorf("tenant %s: client app id %q is not a GUID", t.TenantID, t.ClientAppID)
	}
	switch t.ClientType {
	case ClientPublic:
		if !t.Credential.IsZero() {
			return fmt.Errorf("tenant %s: a public client takes no secret or certificate", t.TenantID)
		}
	case ClientConfidential:
		hasSecret, hasCert := !t.Credential.Secret.IsZero(), t.Credential.CertificateFile != ""
		if hasSecret == hasCert {
			return fmt.Errorf("tenant %s: a confidential client needs exactly one of a client secret or a client certificate", t.TenantID)
		}
		if hasCert && t.Credential.KeyFile == "" {
			return fmt.Errorf("tenant %s: client certificate %s needs a client key file", t.TenantID, t.Credential.CertificateFile)
		}
	default:
		return fmt.Errorf("tenant %s: client type %q: must be %q or %q", t.TenantID, t.ClientType, ClientPublic, ClientConfidential)
	}
	u, err := url.Parse(t.authorityHost())
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("tenant %s: authority host %q must be an https URL without a path", t.TenantID, t.AuthorityHost)
	}
	return nil
}

func (t Target) authorityHost() string {
	if t.AuthorityHost == "" {
		return DefaultAuthorityHost
	}
	return strings.TrimRight(t.AuthorityHost, "/")
}

// Authority is the tenant-specific authority URL MSAL is built with.
func (t Target) Authority() string {
	return t.authorityHost() + "/" + strings.ToLower(t.TenantID)
}

// RequestScopes returns the scopes to request, defaulting to Graph.
func (t Target) RequestScopes() []string {
	if len(t.Scopes) == 0 {
		return []string{GraphScope}
	}
	return t.Scopes
}

// DisplayName is the name when set, else the tenant id.
func (t Target) DisplayName() string {
	if t.Name != "" {
		return t.Name
	}
	return t.TenantID
}

// knownAuthorityHosts are the Microsoft login hosts MSAL trusts without
// asking instance discovery; any other host (the simulator at 127.0.0.1, a
// custom cloud) needs instance discovery off, or MSAL calls the real
// login.microsoftonline.com to validate it.
var knownAuthorityHosts = map[string]bool{
	"login.microsoftonline.com": true, "login.microsoftonline.us": true,
	"login.microsoftonline.de": true, "login.partner.microsoftonline.cn": true,
	"login.chinacloudapi.cn": true, "login-us.microsoftonline.com": true,
	"login.usgovcloudapi.net": true, "login.windows.net": true,
	"login.microsoft.com": true, "sts.windows.net": true,
}

// instanceDiscovery reports whether MSAL may run instance discovery for the
// target's host.
func (t Target) instanceDiscovery() bool {
	u, err := url.Parse(t.authorityHost())
	if err != nil {
		return false
	}
	return knownAuthorityHosts[strings.ToLower(u.Hostname())]
}
