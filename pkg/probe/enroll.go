package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/store"
)

// Enroller obtains a tenant's canary token through an interactive sign-in
// and stores it.
type Enroller struct {
	Store StateStore
	HTTP  *http.Client
	// Clock dates the enrollment (the simulator's virtual clock in tests).
	Clock clock.Clock
}

// DeviceCode enrolls with the device code flow: it prints Microsoft's
// instruction message to w and waits until the user signed in, the code
// expired or ctx ended.
func (e *Enroller) DeviceCode(ctx context.Context, t Target, w io.Writer) (Enrollment, error) {
	if t.ClientType != ClientPublic {
		return Enrollment{}, fmt.Errorf("tenant %s: the device code flow needs a public client; a confidential client enrolls with --auth-code", t.TenantID)
	}
	staging := &memoryCaches{}
	c, err := NewClient(t, staging, e.HTTP)
	if err != nil {
		return Enrollment{}, err
	}
	dc, err := c.pub.AcquireTokenByDeviceCode(ctx, t.RequestScopes())
	if err != nil {
		return Enrollment{}, fmt.Errorf("tenant %s: start device code flow: %w", t.TenantID, err)
	}
	fmt.Fprintln(w, dc.Result.Message)
	ar, err := dc.AuthenticationResult(ctx)
	if err != nil {
		return Enrollment{}, fmt.Errorf("tenant %s: device code sign-in: %w", t.TenantID, err)
	}
	return e.commit(t, AuthFlowDeviceCode, ar, staging)
}

// commit checks the signed-in account, then replaces the tenant's stored
// cache with the staging one in one write and records the enrollment. Until
// this point the old token (if any) is untouched, so a failed re-enrollment
// leaves the tenant as it was; after it no trace of the old token remains.
func (e *Enroller) commit(t Target, flow AuthFlow, ar public.AuthResult, staging *memoryCaches) (Enrollment, error) {
	tenant := strings.ToLower(t.TenantID)
	user := ar.Account.PreferredUsername
	if t.ServiceAccount != "" && !strings.EqualFold(user, t.ServiceAccount) {
		return Enrollment{}, fmt.Errorf("tenant %s: signed in as %q, but the tenant's service_account is %q; sign in as the service account", t.TenantID, user, t.ServiceAccount)
	}
	blob, err := staging.LoadTokenCache(tenant)
	if err != nil || len(blob) == 0 {
		return Enrollment{}, fmt.Errorf("tenant %s: the sign-in produced no token cache", t.TenantID)
	}
	now := e.Clock.Now().UTC()
	rec := Enrollment{
		TenantID:                tenant,
		Method:                  flow,
		ClientType:              t.ClientType,
		HomeAccountID:           ar.Account.HomeAccountID,
		Username:                user,
		EnrolledAt:              now,
		InteractiveSignIn:       now,
		InteractiveSignInSource: SignInSourceEnrollment,
		GrantedScopes:           ar.GrantedScopes,
		AccessTokenExpiry:       onAgentClock(ar.ExpiresOn, now),
	}
	idc, idErr := decodeJWTClaims(ar.IDToken.RawToken)
	if idErr == nil {
		if at := idc.authTime(); !at.IsZero() {
			rec.InteractiveSignIn, rec.InteractiveSignInSource = at, SignInSourceAuthTime
		}
	}
	atc, atErr := decodeJWTClaims(ar.AccessToken)
	rec.TokenHasMFA = (idErr == nil && idc.hasMFA()) || (atErr == nil && atc.hasMFA())

	if err := e.Store.SaveTokenCache(tenant, blob); err != nil {
		return Enrollment{}, fmt.Errorf("tenant %s: store token: %w", t.TenantID, err)
	}
	if err := e.Store.PutJSON(store.BucketTenants, enrollmentKey(tenant), rec); err != nil {
		return Enrollment{}, fmt.Errorf("tenant %s: store enrollment record: %w", t.TenantID, err)
	}
	// The new token starts with a clean slate: the last failure (and the
	// 70043 issue time it reported) belonged to the old token.
	if err := e.Store.Delete(store.BucketTenants, probeStateKey(tenant)); err != nil {
		return Enrollment{}, fmt.Errorf("tenant %s: reset probe state: %w", t.TenantID, err)
	}
	return rec, nil
}

// memoryCaches is a TokenCacheStore kept in memory: enrollment signs in
// against it so the stored cache changes only once the sign-in succeeded.
type memoryCaches struct {
	mu    sync.Mutex
	blobs map[string][]byte
}

func (m *memoryCaches) LoadTokenCache(tenantID string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.blobs[tenantID]...), nil
}

func (m *memoryCaches) SaveTokenCache(tenantID string, blob []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.blobs == nil {
		m.blobs = map[string][]byte{}
	}
	m.blobs[tenantID] = append([]byte(nil), blob...)
	return nil
}

func (m *memoryCaches) DeleteTokenCache(tenantID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, tenantID)
	return nil
}

// errStateMismatch reports a redirect that does not belong to this sign-in
// (a stale browser tab or a forged link).
var errStateMismatch = errors.New("the redirect's state parameter does not match this sign-in; start again and use the newest link")

// EnrollTimeout bounds how long an operator has to complete a sign-in.
const EnrollTimeout = 15 * time.Minute
