package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/domains"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// User is what the predictions need to know about the service account.
type User struct {
	ID             string
	UPN            string
	AccountEnabled bool
	// LastPasswordChange plus the domain's password validity is when the
	// password expires. Zero when Graph did not say.
	LastPasswordChange time.Time
	// SignInSessionsValidFrom moves forward on a password change or an
	// admin revoke: refresh tokens issued before it are dead.
	SignInSessionsValidFrom time.Time
}

// DefaultPasswordValidityDays is what Graph documents for a domain whose
// passwordValidityPeriodInDays is unset.
const DefaultPasswordValidityDays = 90

// User reads one user by object id or UPN, selecting only the properties
// above (Graph does not return them without $select).
func (r *Reader) User(ctx context.Context, idOrUPN string) (User, error) {
	if idOrUPN == "" {
		return User{}, &Error{Tenant: r.tenant, Op: opUser.name, Err: fmt.Errorf("user id is empty")}
	}
	cfg := &users.UserItemRequestBuilderGetRequestConfiguration{QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{
		Select: []string{"id", "userPrincipalName", "accountEnabled", "lastPasswordChangeDateTime", "signInSessionsValidFromDateTime"},
	}}
	u, err := r.client.Users().ByUserId(idOrUPN).Get(r.withBudget(ctx), cfg)
	if err != nil {
		return User{}, r.classify(opUser, err)
	}
	if u == nil {
		return User{}, r.nilResult(opUser)
	}
	out := User{ID: deref(u.GetId()), UPN: deref(u.GetUserPrincipalName()), AccountEnabled: deref(u.GetAccountEnabled())}
	if t := u.GetLastPasswordChangeDateTime(); t != nil {
		out.LastPasswordChange = t.UTC()
	}
	if t := u.GetSignInSessionsValidFromDateTime(); t != nil {
		out.SignInSessionsValidFrom = t.UTC()
	}
	return out, nil
}

// Memberships returns the ids of the groups the user belongs to and the
// template ids of the directory roles it holds, transitively (nested
// groups and roles assigned through groups), all pages: what CA's
// include/exclude groups and roles are matched against.
func (r *Reader) Memberships(ctx context.Context, userID string) (groupIDs, roleTemplateIDs []string, err error) {
	if userID == "" {
		return nil, nil, &Error{Tenant: r.tenant, Op: opMemberships.name, Err: fmt.Errorf("user id is empty")}
	}
	ctx = r.withBudget(ctx)
	tm := r.client.Users().ByUserId(userID).TransitiveMemberOf()
	groups, err := tm.GraphGroup().Get(ctx, &users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetQueryParameters{Select: []string{"id"}},
	})
	if err != nil {
		return nil, nil, r.classify(opMemberships, err)
	}
	if groups == nil {
		return nil, nil, r.nilResult(opMemberships)
	}
	groupIDs, err = iterate(ctx, r, opMemberships, groups, models.CreateGroupCollectionResponseFromDiscriminatorValue,
		func(g models.Groupable) string { return deref(g.GetId()) })
	if err != nil {
		return nil, nil, err
	}
	roles, err := tm.GraphDirectoryRole().Get(ctx, &users.ItemTransitiveMemberOfGraphDirectoryRoleRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemTransitiveMemberOfGraphDirectoryRoleRequestBuilderGetQueryParameters{Select: []string{"id", "roleTemplateId"}},
	})
	if err != nil {
		return nil, nil, r.classify(opMemberships, err)
	}
	if roles == nil {
		return nil, nil, r.nilResult(opMemberships)
	}
	roleTemplateIDs, err = iterate(ctx, r, opMemberships, roles, models.CreateDirectoryRoleCollectionResponseFromDiscriminatorValue,
		func(d models.DirectoryRoleable) string { return strings.ToLower(deref(d.GetRoleTemplateId())) })
	return groupIDs, roleTemplateIDs, err
}

// iterate walks every page with the SDK's page iterator (nextLinks are
// followed through the same adapter, so the budget and auth apply) and
// collects the non-empty keys.
func iterate[T any](ctx context.Context, r *Reader, op operation, first any, factory serialization.ParsableFactory, key func(T) string) ([]string, error) {
	it, err := msgraphcore.NewPageIterator[T](first, r.adapter, factory)
	if err != nil {
		return nil, &Error{Tenant: r.tenant, Op: op.name, Err: err}
	}
	var out []string
	err = it.Iterate(ctx, func(item T) bool {
		if k := key(item); k != "" {
			out = append(out, k)
		}
		return true
	})
	if err != nil {
		return nil, r.classify(op, err)
	}
	return out, nil
}

// PasswordValidityDays maps each domain to passwordValidityPeriodInDays
// (DefaultPasswordValidityDays when unset; 2147483647 is what tenants use
// for "never expires").
func (r *Reader) PasswordValidityDays(ctx context.Context) (map[string]int, error) {
	cfg := &domains.DomainsRequestBuilderGetRequestConfiguration{QueryParameters: &domains.DomainsRequestBuilderGetQueryParameters{
		Select: []string{"id", "isDefault", "passwordValidityPeriodInDays"},
	}}
	page, err := r.client.Domains().Get(r.withBudget(ctx), cfg)
	if err != nil {
		return nil, r.classify(opDomains, err)
	}
	if page == nil {
		return nil, r.nilResult(opDomains)
	}
	out := map[string]int{}
	for _, d := range page.GetValue() {
		days := DefaultPasswordValidityDays
		if v := d.GetPasswordValidityPeriodInDays(); v != nil && *v > 0 {
			days = int(*v)
		}
		out[strings.ToLower(deref(d.GetId()))] = days
	}
	return out, nil
}

// PerUserMFAState reads the legacy per-user MFA state (disabled, enabled or
// enforced) from beta /users/{id}/authentication/requirements, which the
// v1.0 SDK does not model.
func (r *Reader) PerUserMFAState(ctx context.Context, userID string) (string, error) {
	if userID == "" {
		return "", &Error{Tenant: r.tenant, Op: opPerUserMFA.name, Err: fmt.Errorf("user id is empty")}
	}
	ri, err := r.requestFor(abstractions.GET, r.versionURL("beta", "/users/"+url.PathEscape(userID)+"/authentication/requirements"))
	if err != nil {
		return "", &Error{Tenant: r.tenant, Op: opPerUserMFA.name, Err: err}
	}
	body, err := r.sendRaw(ctx, opPerUserMFA, ri)
	if err != nil {
		return "", err
	}
	var req struct {
		PerUserMFAState string `json:"perUserMfaState"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.PerUserMFAState == "" {
		return "", &Error{Tenant: r.tenant, Op: opPerUserMFA.name, Err: fmt.Errorf("answer has no perUserMfaState")}
	}
	return req.PerUserMFAState, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
