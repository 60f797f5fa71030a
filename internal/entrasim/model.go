package entrasim

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

// Well-known identifiers the simulator needs to agree with the real service.
const (
	// GraphAppID is the application id of Microsoft Graph, the resource a
	// "https://graph.microsoft.com/.default" token is issued for and the
	// "cloud app" Conditional Access evaluates for such a request.
	GraphAppID = "00000003-0000-0000-c000-000000000000"
	// GraphResource is the audience of Graph access tokens.
	GraphResource = "https://graph.microsoft.com"
)

// Per-user MFA states as Graph beta reports them in
// /users/{id}/authentication/requirements (perUserMfaState).
const (
	PerUserMFADisabled = "disabled"
	PerUserMFAEnabled  = "enabled"
	PerUserMFAEnforced = "enforced"
)

// User is a directory user. Fields are read and written only under the
// owning Tenant's lock (see Tenant.View and Tenant.Update).
type User struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	UserType          string // "Member" or "Guest"
	AccountEnabled    bool
	Locked            bool // smart lockout: every sign-in fails with 50053
	// LastPasswordChange is lastPasswordChangeDateTime.
	LastPasswordChange time.Time
	// TokensValidFrom is signInSessionsValidFromDateTime: refresh tokens
	// from sign-ins before it fail with 50173. Password changes and admin
	// revokes move it to "now".
	TokensValidFrom time.Time
	PerUserMFAState string   // disabled, enabled, enforced
	MFAMethods      []string // registered methods, e.g. microsoftAuthenticator, phone
	// CreatedDateTime is when the account was created.
	CreatedDateTime time.Time

	// Derived by Tenant.reindex: transitive group ids and role template ids.
	groupClosure map[string]bool
	roleClosure  map[string]bool
}

// HasMFAMethod reports whether the user registered any MFA method; without
// one, an MFA requirement fails with 50079 (registration) instead of 50076.
func (u *User) HasMFAMethod() bool { return len(u.MFAMethods) > 0 }

// InGroup reports transitive membership of group id.
func (u *User) InGroup(id string) bool { return u.groupClosure[id] }

// HasRole reports whether the user holds the directory role with this
// template id, directly or through a role-assignable group.
func (u *User) HasRole(templateID string) bool { return u.roleClosure[strings.ToLower(templateID)] }

// Group is a security group. Members holds user ids and group ids (nested).
type Group struct {
	ID          string
	DisplayName string
	Members     []string
}

// DirectoryRole is an activated directory role, keyed by its template id
// (the id CA policies use in includeRoles/excludeRoles).
type DirectoryRole struct {
	ID          string // directoryRole object id
	TemplateID  string
	DisplayName string
	Members     []string // user ids and group ids
}

// ClientApp is an application registration the tenant knows (home tenant
// registration or a consented multi-tenant app's service principal).
type ClientApp struct {
	AppID       string
	DisplayName string
	// Public apps may use device code and auth code without a secret.
	Public bool
	// Secrets are accepted client_secret values (confidential apps).
	Secrets []string
	// CertThumbprints are base64url SHA-1 thumbprints (the x5t header of a
	// client assertion) of registered certificates.
	CertThumbprints []string
	// CertPEMs are the registered certificates, used to verify assertions.
	CertPEMs []string
	// ConsentedScopes are the delegated Graph scopes consented in this
	// tenant; ".default" expands to these. A request for an unconsented
	// scope fails with 65001.
	ConsentedScopes []string
	// AppRoles are the application permissions granted (client credentials).
	AppRoles []string
	// RedirectURIs accepted by the authorize endpoint; empty accepts any
	// loopback or native-client URI.
	RedirectURIs []string
}

// Domain is a verified domain of the tenant.
type Domain struct {
	ID                           string
	IsDefault                    bool
	IsInitial                    bool
	PasswordValidityPeriodInDays int
	PasswordNotificationWindow   int
}

// NamedLocation is a CA named location kept as the raw Graph JSON object
// (with @odata.type) plus what evaluation needs, parsed once.
type NamedLocation struct {
	ID  string
	Raw json.RawMessage
	loc parsedLocation
}

// Policy is a Conditional Access policy kept as the raw Graph JSON object
// exactly as loaded or PATCHed; evaluation uses a compiled form built once
// per change, never per request.
type Policy struct {
	ID          string
	DisplayName string
	State       string // enabled, disabled, enabledForReportingButNotEnforced
	Raw         json.RawMessage
	compiled    *compiledPolicy
}

// TenantOptions are per-tenant behaviour switches from the scenario.
type TenantOptions struct {
	// AutoApproveDeviceCode approves every device code at its first poll.
	AutoApproveDeviceCode bool
	// InteractiveUser is who signs in when a device code is auto-approved
	// or the authorize endpoint runs without login_hint (UPN or id;
	// default: the first user in scenario order). InteractiveMFA says
	// whether that sign-in performs MFA.
	InteractiveUser string
	InteractiveMFA  bool
	// IncludeAuthTime adds the optional auth_time claim to id_tokens.
	IncludeAuthTime bool
	// RememberMFADays is the per-user MFA "remember MFA on trusted devices"
	// period; an MFA claim older than this fails an MFA requirement with
	// 50078. Zero disables the check.
	RememberMFADays int
	// AccessTokenLifetime, IDTokenLifetime, RefreshTokenInactivity are the
	// token lifetimes (Entra defaults: 60-90 min, 1 h, 90 days).
	AccessTokenLifetime    time.Duration
	IDTokenLifetime        time.Duration
	RefreshTokenInactivity time.Duration
	// Countries maps client IP prefixes (CIDR) to ISO country codes for
	// country named locations. Unmapped addresses have an unknown country.
	Countries []CountryPrefix
}

// CountryPrefix maps an address range to a country for location conditions.
type CountryPrefix struct {
	CIDR    string
	Country string
	prefix  netip.Prefix
}

// TenantState is the mutable directory of a tenant. Read it inside
// Tenant.View and change it inside Tenant.Update only.
type TenantState struct {
	Users          map[string]*User // by object id
	Groups         map[string]*Group
	Roles          map[string]*DirectoryRole // by lower-case template id
	NamedLocations []*NamedLocation          // in creation order
	Policies       []*Policy                 // in creation order
	Apps           map[string]*ClientApp     // by lower-case app id
	Domains        []*Domain
	Options        TenantOptions

	usersByUPN map[string]*User
	locIndex   map[string]*NamedLocation // by lower-case id
	// defaultUser is the first user in scenario order: who signs in
	// interactively when nothing else names a user.
	defaultUser string
}

// InteractiveUserID resolves Options.InteractiveUser, falling back to the
// tenant's first user.
func (st *TenantState) InteractiveUserID() string {
	if st.Options.InteractiveUser != "" {
		if u := st.UserByUPNOrID(st.Options.InteractiveUser); u != nil {
			return u.ID
		}
	}
	return st.defaultUser
}

// countryOf maps a client address to a country by the longest matching
// scenario prefix; "" when unknown.
func (st *TenantState) countryOf(ip netip.Addr) string {
	best, bits := "", -1
	for _, c := range st.Options.Countries {
		if c.prefix.Contains(ip) && c.prefix.Bits() > bits {
			best, bits = c.Country, c.prefix.Bits()
		}
	}
	return best
}

// UserByUPNOrID finds a user by object id or (case-insensitive) UPN.
func (st *TenantState) UserByUPNOrID(s string) *User {
	if u := st.Users[s]; u != nil {
		return u
	}
	return st.usersByUPN[strings.ToLower(s)]
}

// SortedUsers returns users ordered by UPN, for stable listings.
func (st *TenantState) SortedUsers() []*User {
	out := make([]*User, 0, len(st.Users))
	for _, u := range st.Users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserPrincipalName < out[j].UserPrincipalName })
	return out
}

// PolicyByID returns the policy with id, or nil.
func (st *TenantState) PolicyByID(id string) *Policy {
	for _, p := range st.Policies {
		if strings.EqualFold(p.ID, id) {
			return p
		}
	}
	return nil
}

// PasswordValidityDays is the default domain's passwordValidityPeriodInDays
// (90 when unset, as Graph documents).
func (st *TenantState) PasswordValidityDays() int {
	for _, d := range st.Domains {
		if d.IsDefault && d.PasswordValidityPeriodInDays > 0 {
			return d.PasswordValidityPeriodInDays
		}
	}
	return 90
}

// TransitiveMemberOf returns the groups and roles a user belongs to,
// directly or through nested groups, sorted by id.
func (st *TenantState) TransitiveMemberOf(userID string) ([]*Group, []*DirectoryRole) {
	u := st.Users[userID]
	if u == nil {
		return nil, nil
	}
	var gs []*Group
	for id := range u.groupClosure {
		if g := st.Groups[id]; g != nil {
			gs = append(gs, g)
		}
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].ID < gs[j].ID })
	var rs []*DirectoryRole
	for tid := range u.roleClosure {
		if r := st.Roles[tid]; r != nil {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	return gs, rs
}

// Tenant is one simulated directory. ID, Domain and DisplayName never
// change; everything else lives in the state behind the lock.
type Tenant struct {
	ID          string // lower-case GUID
	Domain      string // initial domain, e.g. contoso.onmicrosoft.com
	DisplayName string

	mu sync.RWMutex
	st *TenantState

	sessions sessionTable
	signIns  signInLog
}

// View runs fn with the state read-locked. fn must not keep references to
// the state after it returns, nor modify it.
func (t *Tenant) View(fn func(st *TenantState)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	fn(t.st)
}

// Update runs fn with the state write-locked, then rebuilds the derived
// indexes (UPN map, transitive memberships, compiled policies). If fn or
// the rebuild fails, the error is returned; fn should validate before it
// mutates so a failed update leaves the state unchanged.
func (t *Tenant) Update(fn func(st *TenantState) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := fn(t.st); err != nil {
		return err
	}
	return t.st.reindex()
}

// reindex rebuilds every derived index. Called with the write lock held.
func (st *TenantState) reindex() error {
	st.usersByUPN = make(map[string]*User, len(st.Users))
	for _, u := range st.Users {
		st.usersByUPN[strings.ToLower(u.UserPrincipalName)] = u
	}
	st.computeClosures()
	st.locIndex = make(map[string]*NamedLocation, len(st.NamedLocations))
	for _, nl := range st.NamedLocations {
		loc, err := parseNamedLocation(nl.Raw)
		if err != nil {
			return fmt.Errorf("named location %s: %w", nl.ID, err)
		}
		nl.loc = loc
		st.locIndex[strings.ToLower(nl.ID)] = nl
	}
	for _, p := range st.Policies {
		c, err := compilePolicy(p.Raw)
		if err != nil {
			return fmt.Errorf("policy %s (%s): %w", p.ID, p.DisplayName, err)
		}
		p.compiled = c
	}
	return nil
}

// computeClosures expands nested group and role membership for every user.
func (st *TenantState) computeClosures() {
	// parents[x] = groups that list x (a user or group id) as a member.
	parents := map[string][]string{}
	for _, g := range st.Groups {
		for _, m := range g.Members {
			parents[m] = append(parents[m], g.ID)
		}
	}
	for _, u := range st.Users {
		closure := map[string]bool{}
		stack := append([]string(nil), parents[u.ID]...)
		for len(stack) > 0 {
			g := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if closure[g] {
				continue // cycles in nested groups are tolerated
			}
			closure[g] = true
			stack = append(stack, parents[g]...)
		}
		u.groupClosure = closure
		u.roleClosure = map[string]bool{}
	}
	for tid, r := range st.Roles {
		for _, m := range r.Members {
			if u := st.Users[m]; u != nil {
				u.roleClosure[tid] = true
				continue
			}
			for _, u := range st.Users { // role assigned to a group
				if u.groupClosure[m] {
					u.roleClosure[tid] = true
				}
			}
		}
	}
}
