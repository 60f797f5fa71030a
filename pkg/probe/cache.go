package probe

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// TokenCacheStore holds one MSAL cache blob per tenant. internal/store
// satisfies it and encrypts the blobs (they contain refresh tokens).
type TokenCacheStore interface {
	LoadTokenCache(tenantID string) ([]byte, error)
	SaveTokenCache(tenantID string, blob []byte) error
	DeleteTokenCache(tenantID string) error
}

// Keys of sections in MSAL's cross-SDK cache schema.
const (
	msalAccessTokenSection = "AccessToken"
	msalIDTokenSection     = "IdToken"
)

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
//
// MSAL calls Replace two or three times per silent acquisition (accounts,
// token lookup, token write), and decoding the cache JSON was the largest
// share of a probe's CPU. The accessor therefore remembers what MSAL's
// in-memory cache holds (the digest of the stored blob it came from, and
// whether access tokens were hidden) and skips a Replace that would load
// exactly that again. The stored blob is still read every time, so a write
// by anyone else (a re-enrollment) is always loaded.
type tenantCache struct {
	store    TokenCacheStore
	tenantID string

	mu     sync.Mutex
	valid  bool     // MSAL's memory matches digest and hidden
	digest [32]byte // SHA-256 of the stored (decrypted) blob
	hidden bool     // access tokens were dropped when it was loaded
}

// inMemory reports whether MSAL already holds data loaded with hidden.
func (c *tenantCache) inMemory(sum [32]byte, hidden bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.valid && c.digest == sum && c.hidden == hidden
}

func (c *tenantCache) remember(valid bool, sum [32]byte, hidden bool) {
	c.mu.Lock()
	c.valid, c.digest, c.hidden = valid, sum, hidden
	c.mu.Unlock()
}

var _ cache.ExportReplace = (*tenantCache)(nil)

// Replace loads the tenant's cache into MSAL before every read.
func (c *tenantCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	data, err := c.store.LoadTokenCache(c.tenantID)
	if err != nil {
		return fmt.Errorf("load token cache of tenant %s: %w", c.tenantID, err)
	}
	sum := sha256.Sum256(data)
	hide := forcedRedemption(ctx) && len(data) > 0
	if c.inMemory(sum, hide) {
		return nil
	}
	if hide {
		if data, err = withoutAccessTokens(data); err != nil {
			c.remember(false, sum, hide)
			return fmt.Errorf("token cache of tenant %s: %w", c.tenantID, err)
		}
	}
	if err := u.Unmarshal(data); err != nil {
		c.remember(false, sum, hide)
		return err
	}
	c.remember(true, sum, hide)
	return nil
}

// Export saves MSAL's cache after every token write.
//
// What is saved is the minimal cache the agent needs: the refresh token,
// the account, the app metadata (MSAL finds the refresh token through it)
// and the access token (Graph reads use it between probes instead of
// redeeming again). The ID token is left out: nothing reads it back (MSAL
// takes the ID token of each token response, and the cached-token path
// treats it as optional, as for confidential clients), yet it was a third
// of every sealed cache and most of what a probe's decode had to read.
func (c *tenantCache) Export(_ context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	data, err := m.Marshal()
	if err == nil {
		data, err = withoutSections(data, msalIDTokenSection)
	}
	if err != nil {
		return fmt.Errorf("encode token cache of tenant %s: %w", c.tenantID, err)
	}
	if err := c.store.SaveTokenCache(c.tenantID, data); err != nil {
		// MSAL's memory is now ahead of the store: load it again next time.
		c.remember(false, [32]byte{}, false)
		return fmt.Errorf("save token cache of tenant %s: %w", c.tenantID, err)
	}
	// MSAL's memory is what was just stored (plus the ID token, which
	// nothing reads).
	c.remember(true, sha256.Sum256(data), false)
	return nil
}

// withoutAccessTokens drops the access-token section of a cache blob and
// keeps every other section byte for byte.
func withoutAccessTokens(blob []byte) ([]byte, error) {
	return withoutSections(blob, msalAccessTokenSection)
}

// withoutSections returns blob without the named top-level sections; every
// other section keeps its bytes. It runs twice per probe (hiding the access
// tokens, dropping the ID token on export), so it walks the bytes once
// with a small scanner (strings, nesting) instead of decoding: the
// map-and-re-encode it replaced cost a tenth of a millisecond per probe,
// and encoding/json's token decoder still 0.09 ms at 10,000 tenants. It
// checks the object's structure only; MSAL's decoder checks the values. A
// blob without those sections is returned as is.
func withoutSections(blob []byte, drop ...string) ([]byte, error) {
	i := skipSpace(blob, 0)
	if i == len(blob) || blob[i] != '{' {
		return nil, notMSALJSON(i)
	}
	out := make([]byte, 0, len(blob))
	out = append(out, '{')
	dropped, kept := false, 0
	i = skipSpace(blob, i+1)
	for i < len(blob) && blob[i] != '}' {
		start := i
		if blob[i] != '"' {
			return nil, notMSALJSON(i)
		}
		keyEnd, err := skipString(blob, i)
		if err != nil {
			return nil, err
		}
		key := blob[i+1 : keyEnd-1]
		i = skipSpace(blob, keyEnd)
		if i == len(blob) || blob[i] != ':' {
			return nil, notMSALJSON(i)
		}
		if i, err = skipValue(blob, skipSpace(blob, i+1)); err != nil {
			return nil, err
		}
		if slices.Contains(drop, string(key)) {
			dropped = true
		} else {
			if kept > 0 {
				out = append(out, ',')
			}
			out = append(out, blob[start:i]...)
			kept++
		}
		i = skipSpace(blob, i)
		if i < len(blob) && blob[i] == ',' {
			i = skipSpace(blob, i+1)
			if i < len(blob) && blob[i] == '}' {
				return nil, notMSALJSON(i) // a trailing comma
			}
		} else if i == len(blob) || blob[i] != '}' {
			return nil, notMSALJSON(i)
		}
	}
	if i == len(blob) {
		return nil, notMSALJSON(i)
	}
	if rest := skipSpace(blob, i+1); rest != len(blob) {
		return nil, notMSALJSON(rest)
	}
	if !dropped {
		return blob, nil
	}
	return append(out, '}'), nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++ // the escaped character, whatever it is
		case '"':
			return j + 1, nil
		}
	}
	return 0, notMSALJSON(len(b))
}

// skipValue returns the index after the value starting at b[i]: a string,
// an object or array (by nesting, strings skipped), or a literal (up to
// the next delimiter).
func skipValue(b []byte, i int) (int, error) {
	if i == len(b) {
		return 0, notMSALJSON(i)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, notMSALJSON(len(b))
	case ',', '}', ']', ':':
		return 0, notMSALJSON(i)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j, nil
}

// notMSALJSON names the offset where the cache stopped being a JSON
// object, and never any of its content (it holds tokens).
func notMSALJSON(offset int) error {
	return fmt.Errorf("cache is not MSAL JSON: malformed at byte %d", offset)
}
