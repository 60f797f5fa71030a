package probe

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// TokenCacheStore holds one MSAL cache blob per tenant. internal/store
// satisfies it and encrypts the blobs (they contain refresh tokens).
type TokenCacheStore interface {
	LoadTokenCache(tenantID string) ([]byte, error)
	SaveTokenCache(tenantID string, blob []byte) error
	DeleteTokenCache(tenantID string) error
}

// msalAccessTokenSection is the key of the access-token map in MSAL's
// cross-SDK cache schema.
const msalAccessTokenSection = "AccessToken"

type forceRedemptionKey struct{}

// withForcedRedemption marks a context so that the cache hides its access
// tokens for the one call made with it. MSAL then finds no valid access token
// and redeems the refresh token with an ordinary refresh_token grant: on the
// wire the probe is identical to the platform's own refresh (no claims
// parameter, no extra field a policy could treat differently).
func withForcedRedemption(ctx context.Context) context.Context {
	return context.WithValue(ctx, forceRedemptionKey{}, true)
}

func forcedRedemption(ctx context.Context) bool {
	v, _ := ctx.Value(forceRedemptionKey{}).(bool)
	return v
}

// tenantCache binds an MSAL cache accessor to one tenant. MSAL's partition
// hints are ignored: device-code results arrive with an empty hint, so the
// tenant is the only reliable key.
type tenantCache struct {
	store    TokenCacheStore
	tenantID string
}

var _ cache.ExportReplace = (*tenantCache)(nil)

// Replace loads the tenant's cache into MSAL before every read.
func (c *tenantCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	data, err := c.store.LoadTokenCache(c.tenantID)
	if err != nil {
		return fmt.Errorf("load token cache of tenant %s: %w", c.tenantID, err)
	}
	if forcedRedemption(ctx) && len(data) > 0 {
		if data, err = withoutAccessTokens(data); err != nil {
			return fmt.Errorf("token cache of tenant %s: %w", c.tenantID, err)
		}
	}
	return u.Unmarshal(data)
}

// Export saves MSAL's cache after every token write.
func (c *tenantCache) Export(_ context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	data, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("encode token cache of tenant %s: %w", c.tenantID, err)
	}
	if err := c.store.SaveTokenCache(c.tenantID, data); err != nil {
		return fmt.Errorf("save token cache of tenant %s: %w", c.tenantID, err)
	}
	return nil
}

// withoutAccessTokens drops the access-token section of a cache blob and
// keeps every other section byte for byte.
func withoutAccessTokens(blob []byte) ([]byte, error) {
	var sections map[string]json.RawMessage
	if err := json.Unmarshal(blob, &sections); err != nil {
		// The error text of encoding/json quotes no input, so no token leaks.
		return nil, fmt.Errorf("cache is not MSAL JSON: %w", err)
	}
	if _, ok := sections[msalAccessTokenSection]; !ok {
		return blob, nil
	}
	delete(sections, msalAccessTokenSection)
	return json.Marshal(sections)
}
