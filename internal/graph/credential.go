package graph

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// TokenSource supplies delegated access tokens for one tenant. The probe's
// MSAL client satisfies it: scopes are the Graph scopes, and claims is the
// decoded claims request of a CAE challenge ("" normally), which the
// source must pass to AcquireTokenSilent (public.WithClaims) so that the
// refresh-token grant returns a token the resource accepts.
type TokenSource interface {
	Token(ctx context.Context, scopes []string, claims string) (token string, expiresOn time.Time, err error)
}

// TokenSourceFunc adapts a function to TokenSource.
type TokenSourceFunc func(ctx context.Context, scopes []string, claims string) (string, time.Time, error)

// Token implements TokenSource.
func (f TokenSourceFunc) Token(ctx context.Context, scopes []string, claims string) (string, time.Time, error) {
	return f(ctx, scopes, claims)
}

// credential adapts a TokenSource to the azcore.TokenCredential the Graph
// authentication provider takes. kiota base64-decodes the challenge's
// claims before they arrive here in TokenRequestOptions.Claims.
type credential struct{ src TokenSource }

// ErrNoToken is wrapped when the token source returned an empty token.
var ErrNoToken = errors.New("token source returned no access token")

// GetToken implements azcore.TokenCredential.
func (c *credential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, exp, err := c.src.Token(ctx, o.Scopes, o.Claims)
	if err != nil {
		return azcore.AccessToken{}, &tokenError{err: err, claims: o.Claims != ""}
	}
	if tok == "" {
		return azcore.AccessToken{}, &tokenError{err: ErrNoToken, claims: o.Claims != ""}
	}
	return azcore.AccessToken{Token: tok, ExpiresOn: exp}, nil
}

// tokenError marks a failure to obtain a token, as opposed to a Graph
// answer, so classify can say so. It never carries a token.
type tokenError struct {
	err    error
	claims bool // the request answered a CAE claims challenge
}

func (e *tokenError) Error() string {
	if e.claims {
		return fmt.Sprintf("getting a token for a CAE claims challenge: %v", e.err)
	}
	return fmt.Sprintf("getting a token: %v", e.err)
}

func (e *tokenError) Unwrap() error { return e.err }
