package probe

import (
	"context"
	"fmt"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// AccessToken returns a delegated access token of the tenant's canary for
// reading Microsoft Graph. Unlike Probe it uses the cached access token
// while it is valid, so Graph reads do not redeem the refresh token again.
// claims is the decoded claims request of a CAE challenge ("" normally);
// with claims MSAL skips the cache and redeems with them, as the resource
// demands. The token is returned to the Graph client only: never log it.
func (p *Prober) AccessToken(ctx context.Context, t Target, scopes []string, claims string) (string, time.Time, error) {
	c, err := p.client(t)
	if err != nil {
		return "", time.Time{}, err
	}
	enr, found, err := LoadEnrollment(p.opts.Store, t.TenantID)
	if err != nil {
		return "", time.Time{}, err
	}
	if !found {
		return "", time.Time{}, fmt.Errorf("tenant %s: %w", t.TenantID, ErrNotEnrolled)
	}
	acct, err := c.account(ctx, enr.HomeAccountID)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(scopes) == 0 {
		scopes = t.RequestScopes()
	}
	var ar public.AuthResult
	if c.pub != nil {
		opts := []public.AcquireSilentOption{public.WithSilentAccount(acct)}
		if claims != "" {
			opts = append(opts, public.WithClaims(claims))
		}
		ar, err = c.pub.AcquireTokenSilent(ctx, scopes, opts...)
	} else {
		opts := []confidential.AcquireSilentOption{confidential.WithSilentAccount(acct)}
		if claims != "" {
			opts = append(opts, confidential.WithClaims(claims))
		}
		ar, err = c.conf.AcquireTokenSilent(ctx, scopes, opts...)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return ar.AccessToken, ar.ExpiresOn, nil
}
