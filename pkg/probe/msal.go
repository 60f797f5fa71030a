package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// ErrNotEnrolled means the tenant's cache holds no account: nobody has run
// `tokenhealth enroll` for it yet (or the enrollment was removed).
var ErrNotEnrolled = errors.New("no enrolled account in the token cache")

// Client is one tenant's MSAL client: public or confidential according to
// the target, with a cache bound to the tenant. One per tenant, because the
// authority and the cache are per tenant (MSAL recommends one instance per
// user).
type Client struct {
	target Target
	cache  *tenantCache
	pub    *public.Client
	conf   *confidential.Client
}

// NewClient builds the MSAL client for t, sharing hc (the process-wide
// pooled client from internal/transport) with every other tenant.
func NewClient(t Target, caches TokenCacheStore, hc *http.Client) (*Client, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	c := &Client{target: t, cache: &tenantCache{store: caches, tenantID: strings.ToLower(t.TenantID)}}
	discovery := t.instanceDiscovery()
	switch t.ClientType {
	case ClientPublic:
		app, err := public.New(t.ClientAppID,
			public.WithAuthority(t.Authority()),
			public.WithCache(c.cache),
			public.WithHTTPClient(hc),
			public.WithInstanceDiscovery(discovery))
		if err != nil {
			return nil, fmt.Errorf("tenant %s: MSAL public client: %w", t.TenantID, err)
		}
		c.pub = &app
	case ClientConfidential:
		cred, err := confidentialCredential(t.Credential)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.TenantID, err)
		}
		app, err := confidential.New(t.Authority(), t.ClientAppID, cred,
			confidential.WithCache(c.cache),
			confidential.WithHTTPClient(hc),
			confidential.WithInstanceDiscovery(discovery))
		if err != nil {
			return nil, fmt.Errorf("tenant %s: MSAL confidential client: %w", t.TenantID, err)
		}
		c.conf = &app
	}
	return c, nil
}

// confidentialCredential turns the configured secret or certificate into an
// MSAL credential. Errors name the file, never its content.
func confidentialCredential(cr Credential) (confidential.Credential, error) {
	if !cr.Secret.IsZero() {
		return confidential.NewCredFromSecret(cr.Secret.Reveal())
	}
	certPEM, err := os.ReadFile(cr.CertificateFile)
	if err != nil {
		return confidential.Credential{}, fmt.Errorf("client certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(cr.KeyFile)
	if err != nil {
		return confidential.Credential{}, fmt.Errorf("client key: %w", err)
	}
	pemData := append(append(certPEM, '\n'), keyPEM...)
	certs, key, err := confidential.CertFromPEM(pemData, "")
	if err != nil {
		return confidential.Credential{}, fmt.Errorf("client certificate %s with key %s: %w", cr.CertificateFile, cr.KeyFile, err)
	}
	return confidential.NewCredFromCert(certs, key)
}

// Target returns the target the client was built for.
func (c *Client) Target() Target { return c.target }

// account finds the enrolled account in the tenant's cache. When
// homeAccountID is empty the single cached account is used.
func (c *Client) account(ctx context.Context, homeAccountID string) (public.Account, error) {
	var (
		accts []public.Account
		err   error
	)
	if c.pub != nil {
		accts, err = c.pub.Accounts(ctx)
	} else {
		var one confidential.Account
		if homeAccountID == "" {
			return public.Account{}, errors.New("a confidential client needs the enrolled home account id")
		}
		one, err = c.conf.Account(ctx, homeAccountID)
		if err == nil && !one.IsZero() {
			accts = []public.Account{one}
		}
	}
	if err != nil {
		return public.Account{}, err
	}
	for _, a := range accts {
		if homeAccountID == "" || a.HomeAccountID == homeAccountID {
			return a, nil
		}
	}
	return public.Account{}, ErrNotEnrolled
}

// redeem runs one silent acquisition for acct with the cached access
// tokens hidden, so the refresh token is redeemed at the identity provider.
func (c *Client) redeem(ctx context.Context, acct public.Account) (public.AuthResult, error) {
	ctx = withForcedRedemption(ctx)
	scopes := c.target.RequestScopes()
	if c.pub != nil {
		return c.pub.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(acct))
	}
	return c.conf.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct))
}
