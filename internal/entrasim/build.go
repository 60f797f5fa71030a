package entrasim

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"
)

// Entra's default token lifetimes.
const (
	defaultAccessTokenLifetime    = 75 * time.Minute // Entra picks 60-90 min
	defaultIDTokenLifetime        = time.Hour
	defaultRefreshTokenInactivity = 90 * 24 * time.Hour
)

// builtScenario is a scenario resolved against a start time.
type builtScenario struct {
	tenants []*Tenant
	events  []*timedEvent
	// browserSessions are the scenario's pre-existing SSO sessions by
	// tenant id and user id.
	browserSessions map[string]map[string]browserSession
}

type browserSession struct {
	authTime time.Time
	mfa      bool
}

// build validates the scenario and creates its tenants. Every error names
// the tenant and the field at fault.
func (sc *Scenario) build(start time.Time) (*builtScenario, error) {
	out := &builtScenario{browserSessions: map[string]map[string]browserSession{}}
	seen := map[string]bool{}
	for i := range sc.Tenants {
		st := &sc.Tenants[i]
		t, events, sessions, err := sc.buildTenant(st, start)
		if err != nil {
			name := st.Domain
			if name == "" {
				name = fmt.Sprintf("#%d", i+1)
			}
			return nil, fmt.Errorf("tenant %s: %w", name, err)
		}
		if seen[t.ID] || seen[strings.ToLower(t.Domain)] {
			return nil, fmt.Errorf("tenant %s: duplicate id or domain", t.Domain)
		}
		seen[t.ID], seen[strings.ToLower(t.Domain)] = true, true
		out.tenants = append(out.tenants, t)
		out.events = append(out.events, events...)
		out.browserSessions[t.ID] = sessions
	}
	return out, nil
}

func (sc *Scenario) buildTenant(in *ScenarioTenant, start time.Time) (*Tenant, []*timedEvent, map[string]browserSession, error) {
	id, err := uuid.Parse(in.ID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("id %q: not a GUID", in.ID)
	}
	if in.Domain == "" {
		return nil, nil, nil, fmt.Errorf("domain: required")
	}
	t := &Tenant{ID: id.String(), Domain: strings.ToLower(in.Domain), DisplayName: in.DisplayName}
	if t.DisplayName == "" {
		t.DisplayName = t.Domain
	}
	st := &TenantState{
		Users: map[string]*User{}, Groups: map[string]*Group{},
		Roles: map[string]*DirectoryRole{}, Apps: map[string]*ClientApp{},
	}
	if st.Options, err = in.Options.resolve(); err != nil {
		return nil, nil, nil, fmt.Errorf("options: %w", err)
	}
	st.Domains = []*Domain{{ID: t.Domain, IsInitial: true, IsDefault: true, PasswordValidityPeriodInDays: 90, PasswordNotificationWindow: 14}}
	for _, d := range in.Domains {
		if d.ID == "" {
			return nil, nil, nil, fmt.Errorf("domains: id required")
		}
		dom := &Domain{ID: strings.ToLower(d.ID), IsDefault: d.Default, PasswordValidityPeriodInDays: d.PasswordValidityPeriodInDays, PasswordNotificationWindow: d.PasswordNotificationWindow}
		if strings.EqualFold(d.ID, t.Domain) {
			st.Domains[0].PasswordValidityPeriodInDays = d.PasswordValidityPeriodInDays
			st.Domains[0].IsDefault = d.Default || len(in.Domains) == 1
			continue
		}
		if d.Default {
			st.Domains[0].IsDefault = false
		}
		st.Domains = append(st.Domains, dom)
	}
	sessions := map[string]browserSession{}
	for i, su := range in.Users {
		u, bs, err := buildUser(t, i, su, start)
		if err != nil {
			return nil, nil, nil, err
		}
		if st.Users[u.ID] != nil {
			return nil, nil, nil, fmt.Errorf("users[%d]: duplicate id %s", i, u.ID)
		}
		st.Users[u.ID] = u
		if i == 0 {
			st.defaultUser = u.ID
		}
		if bs != nil {
			sessions[u.ID] = *bs
		}
	}
	st.usersByUPN = map[string]*User{}
	for _, u := range st.Users {
		st.usersByUPN[strings.ToLower(u.UserPrincipalName)] = u
	}
	resolve := func(field, m string) (string, error) {
		if u := st.UserByUPNOrID(m); u != nil {
			return u.ID, nil
		}
		for _, g := range in.Groups {
			if strings.EqualFold(g.ID, m) || strings.EqualFold(g.DisplayName, m) {
				return strings.ToLower(g.ID), nil
			}
		}
		return "", fmt.Errorf("%s: member %q is neither a user nor a group of this tenant", field, m)
	}
	for i, g := range in.Groups {
		if _, err := uuid.Parse(g.ID); err != nil {
			return nil, nil, nil, fmt.Errorf("groups[%d].id %q: not a GUID", i, g.ID)
		}
		grp := &Group{ID: strings.ToLower(g.ID), DisplayName: g.DisplayName}
		for _, m := range g.Members {
			mid, err := resolve(fmt.Sprintf("groups[%d].members", i), m)
			if err != nil {
				return nil, nil, nil, err
			}
			grp.Members = append(grp.Members, mid)
		}
		st.Groups[grp.ID] = grp
	}
	for i, r := range in.Roles {
		if _, err := uuid.Parse(r.TemplateID); err != nil {
			return nil, nil, nil, fmt.Errorf("roles[%d].templateId %q: not a GUID", i, r.TemplateID)
		}
		role := &DirectoryRole{ID: deterministicID(t.ID, "role", r.TemplateID), TemplateID: strings.ToLower(r.TemplateID), DisplayName: r.DisplayName}
		for _, m := range r.Members {
			mid, err := resolve(fmt.Sprintf("roles[%d].members", i), m)
			if err != nil {
				return nil, nil, nil, err
			}
			role.Members = append(role.Members, mid)
		}
		st.Roles[role.TemplateID] = role
	}
	for i, a := range in.Apps {
		app, err := buildApp(i, a)
		if err != nil {
			return nil, nil, nil, err
		}
		st.Apps[app.AppID] = app
	}
	for i := range in.NamedLocations {
		objs, err := rawObjects(&in.NamedLocations[i], sc.baseDir)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("namedLocations[%d]: %w", i, err)
		}
		for _, o := range objs {
			nl, err := newNamedLocation(t.ID, len(st.NamedLocations), o)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("namedLocations[%d]: %w", i, err)
			}
			st.NamedLocations = append(st.NamedLocations, nl)
		}
	}
	for i := range in.Policies {
		objs, err := rawObjects(&in.Policies[i], sc.baseDir)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("policies[%d]: %w", i, err)
		}
		for _, o := range objs {
			p, err := newPolicy(t.ID, len(st.Policies), o)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("policies[%d]: %w", i, err)
			}
			if st.PolicyByID(p.ID) != nil {
				return nil, nil, nil, fmt.Errorf("policies[%d]: duplicate policy id %s", i, p.ID)
			}
			st.Policies = append(st.Policies, p)
		}
	}
	if err := st.reindex(); err != nil {
		return nil, nil, nil, err
	}
	t.st = st
	var events []*timedEvent
	for i := range in.Events {
		ev, err := sc.buildEvent(t, i, &in.Events[i], start)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("events[%d]: %w", i, err)
		}
		events = append(events, ev)
	}
	return t, events, sessions, nil
}

func buildUser(t *Tenant, i int, su ScenarioUser, start time.Time) (*User, *browserSession, error) {
	if su.UPN == "" || !strings.Contains(su.UPN, "@") {
		return nil, nil, fmt.Errorf("users[%d].upn %q: want user@domain", i, su.UPN)
	}
	id := su.ID
	if id == "" {
		id = deterministicID(t.ID, "user", strings.ToLower(su.UPN))
	} else if _, err := uuid.Parse(id); err != nil {
		return nil, nil, fmt.Errorf("users[%d].id %q: not a GUID", i, id)
	}
	u := &User{
		ID: strings.ToLower(id), UserPrincipalName: su.UPN, DisplayName: su.DisplayName,
		UserType: "Member", AccountEnabled: true, Locked: su.Locked,
		PerUserMFAState: PerUserMFADisabled, MFAMethods: su.MFAMethods,
		CreatedDateTime: start.Add(-365 * 24 * time.Hour),
	}
	if su.DisplayName == "" {
		u.DisplayName = strings.SplitN(su.UPN, "@", 2)[0]
	}
	if su.UserType != "" {
		if su.UserType != "Member" && su.UserType != "Guest" {
			return nil, nil, fmt.Errorf("users[%d].userType %q: want Member or Guest", i, su.UserType)
		}
		u.UserType = su.UserType
	}
	if su.AccountEnabled != nil {
		u.AccountEnabled = *su.AccountEnabled
	}
	switch su.PerUserMFA {
	case "", PerUserMFADisabled:
	case PerUserMFAEnabled, PerUserMFAEnforced:
		u.PerUserMFAState = su.PerUserMFA
	default:
		return nil, nil, fmt.Errorf("users[%d].perUserMfa %q: want disabled, enabled or enforced", i, su.PerUserMFA)
	}
	u.LastPasswordChange = start.Add(-30 * 24 * time.Hour)
	if su.PasswordLastChanged != "" {
		pc, err := parseWhen(su.PasswordLastChanged, start)
		if err != nil {
			return nil, nil, fmt.Errorf("users[%d].passwordLastChanged: %w", i, err)
		}
		u.LastPasswordChange = pc
	}
	u.TokensValidFrom = u.LastPasswordChange
	var bs *browserSession
	if su.BrowserSession != nil {
		at, err := parseWhen(su.BrowserSession.AuthenticatedAt, start)
		if err != nil {
			return nil, nil, fmt.Errorf("users[%d].browserSession.authenticatedAt: %w", i, err)
		}
		if at.Before(u.TokensValidFrom) {
			return nil, nil, fmt.Errorf("users[%d].browserSession.authenticatedAt is before passwordLastChanged: that session would be revoked", i)
		}
		bs = &browserSession{authTime: at, mfa: su.BrowserSession.MFA}
	}
	return u, bs, nil
}

func buildApp(i int, a ScenarioApp) (*ClientApp, error) {
	if _, err := uuid.Parse(a.AppID); err != nil {
		return nil, fmt.Errorf("apps[%d].appId %q: not a GUID", i, a.AppID)
	}
	if !a.Public && len(a.Secrets) == 0 && len(a.Certificates) == 0 {
		return nil, fmt.Errorf("apps[%d] (%s): a confidential app needs secrets or certificates", i, a.AppID)
	}
	app := &ClientApp{
		AppID: strings.ToLower(a.AppID), DisplayName: a.DisplayName, Public: a.Public,
		Secrets: a.Secrets, ConsentedScopes: a.ConsentedScopes, AppRoles: a.AppRoles,
		RedirectURIs: a.RedirectURIs, CertPEMs: a.Certificates, CertThumbprints: a.CertThumbprints,
	}
	for j, pemText := range a.Certificates {
		tp, err := certThumbprint(pemText)
		if err != nil {
			return nil, fmt.Errorf("apps[%d].certificates[%d]: %w", i, j, err)
		}
		app.CertThumbprints = append(app.CertThumbprints, tp)
	}
	if app.DisplayName == "" {
		app.DisplayName = "App " + app.AppID[:8]
	}
	return app, nil
}

func (o ScenarioOptions) resolve() (TenantOptions, error) {
	out := TenantOptions{
		AutoApproveDeviceCode: o.AutoApproveDeviceCode, InteractiveUser: o.InteractiveUser,
		InteractiveMFA: o.InteractiveMFA, IncludeAuthTime: o.IncludeAuthTime, RememberMFADays: o.RememberMFADays,
		AccessTokenLifetime: defaultAccessTokenLifetime, IDTokenLifetime: defaultIDTokenLifetime,
		RefreshTokenInactivity: defaultRefreshTokenInactivity,
	}
	for _, f := range []struct {
		name string
		in   string
		out  *time.Duration
	}{
		{"accessTokenLifetime", o.AccessTokenLifetime, &out.AccessTokenLifetime},
		{"idTokenLifetime", o.IDTokenLifetime, &out.IDTokenLifetime},
		{"refreshTokenInactivity", o.RefreshTokenInactivity, &out.RefreshTokenInactivity},
	} {
		if f.in == "" {
			continue
		}
		d, err := parseDuration(f.in)
		if err != nil || d <= 0 {
			return out, fmt.Errorf("%s %q: want a positive duration like 1h or 90d", f.name, f.in)
		}
		*f.out = d
	}
	if o.RememberMFADays < 0 || o.RememberMFADays > 365 {
		return out, fmt.Errorf("rememberMfaDays %d: want 0-365", o.RememberMFADays)
	}
	for cidr, country := range o.Countries {
		prefix, err := netip.ParsePrefix(cidr)
		if err != nil {
			return out, fmt.Errorf("countries: %q is not a CIDR prefix", cidr)
		}
		if len(country) != 2 {
			return out, fmt.Errorf("countries[%s] %q: want a two-letter ISO code", cidr, country)
		}
		out.Countries = append(out.Countries, CountryPrefix{CIDR: cidr, Country: strings.ToUpper(country), prefix: prefix.Masked()})
	}
	return out, nil
}

// newPolicy wraps a raw policy object, giving it an id when it has none.
func newPolicy(tenantID string, index int, raw json.RawMessage) (*Policy, error) {
	var head struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		State       string `json:"state"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, err
	}
	if head.ID == "" {
		head.ID = deterministicID(tenantID, "policy", fmt.Sprint(index, head.DisplayName))
		var err error
		if raw, err = setJSONField(raw, "id", head.ID); err != nil {
			return nil, err
		}
	}
	switch head.State {
	case "enabled", "disabled", "enabledForReportingButNotEnforced":
	default:
		return nil, fmt.Errorf("policy %q: state %q: want enabled, disabled or enabledForReportingButNotEnforced", head.DisplayName, head.State)
	}
	c, err := compilePolicy(raw)
	if err != nil {
		return nil, fmt.Errorf("policy %q: %w", head.DisplayName, err)
	}
	return &Policy{ID: head.ID, DisplayName: head.DisplayName, State: head.State, Raw: raw, compiled: c}, nil
}

func newNamedLocation(tenantID string, index int, raw json.RawMessage) (*NamedLocation, error) {
	var head struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, err
	}
	if head.ID == "" {
		head.ID = deterministicID(tenantID, "location", fmt.Sprint(index, head.DisplayName))
		var err error
		if raw, err = setJSONField(raw, "id", head.ID); err != nil {
			return nil, err
		}
	}
	loc, err := parseNamedLocation(raw)
	if err != nil {
		return nil, fmt.Errorf("named location %q: %w", head.DisplayName, err)
	}
	return &NamedLocation{ID: head.ID, Raw: raw, loc: loc}, nil
}

// deterministicID derives a stable GUID so that generated scenarios and
// ids omitted from a scenario are the same on every run.
func deterministicID(tenantID, kind, name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(tenantID+"/"+kind+"/"+name)).String()
}

// decodeYAMLPolicy resolves an event's policy node, if any.
func (sc *Scenario) decodeYAMLPolicy(n *yaml.Node) (json.RawMessage, error) {
	if n.Kind == 0 {
		return nil, fmt.Errorf("policy: required")
	}
	objs, err := rawObjects(n, sc.baseDir)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("policy: want exactly one policy object, got %d", len(objs))
	}
	return objs[0], nil
}
