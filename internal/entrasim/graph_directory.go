package entrasim

import (
	"strings"
	"time"
)

// Directory reads: users, their transitive groups and roles, domains and
// the beta per-user MFA state. Each costs directory resource units.

var userProperties = []string{
	"id", "displayName", "userPrincipalName", "mail", "accountEnabled", "userType", "createdDateTime",
	"lastPasswordChangeDateTime", "signInSessionsValidFromDateTime", "givenName", "surname", "jobTitle",
	"businessPhones", "mobilePhone", "officeLocation", "preferredLanguage",
}

// userDefaultProperties are what Graph v1.0 returns without $select. The
// properties the agent needs (accountEnabled, lastPasswordChangeDateTime,
// signInSessionsValidFromDateTime) are not among them, as in Graph.
var userDefaultProperties = []string{
	"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName",
}

var (
	groupProperties = []string{"id", "displayName", "securityEnabled", "mailEnabled", "groupTypes", "description"}
	roleProperties  = []string{"id", "displayName", "roleTemplateId", "description"}
	domainProps     = []string{"id", "authenticationType", "isAdminManaged", "isDefault", "isInitial", "isRoot", "isVerified",
		"passwordNotificationWindowInDays", "passwordValidityPeriodInDays", "supportedServices"}
)

func graphTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func userObject(u *User) map[string]any {
	first, last, _ := strings.Cut(u.DisplayName, " ")
	return map[string]any{
		"@odata.type": "#microsoft.graph.user", "id": u.ID, "displayName": u.DisplayName,
		"userPrincipalName": u.UserPrincipalName, "mail": u.UserPrincipalName, "accountEnabled": u.AccountEnabled,
		"userType": u.UserType, "createdDateTime": graphTime(u.CreatedDateTime),
		"lastPasswordChangeDateTime":      graphTime(u.LastPasswordChange),
		"signInSessionsValidFromDateTime": graphTime(u.TokensValidFrom),
		"givenName":                       first, "surname": last, "jobTitle": nil, "businessPhones": []string{},
		"mobilePhone": nil, "officeLocation": nil, "preferredLanguage": nil,
	}
}

// subject resolves /users/{id} (object id or UPN) or /me (the token's
// user). It writes the error and returns "" when there is none.
func (rc *graphRequest) subject() (string, bool) {
	if id := rc.r.PathValue("id"); id != "" {
		return id, true
	}
	if rc.claims.UserID == "" {
		rc.badRequest("/me request is only valid with delegated authentication flow.")
		return "", false
	}
	return rc.claims.UserID, true
}

func (rc *graphRequest) isMe() bool { return rc.r.PathValue("id") == "" }

func (g *graphAPI) getUser(rc *graphRequest) {
	perm := permUsers
	if rc.isMe() {
		perm = permMe
	}
	if !rc.permitted("directory", perm) || !rc.allow(bucketDirectory) {
		return
	}
	id, ok := rc.subject()
	if !ok {
		return
	}
	sel, ok := rc.selectFields("user", userProperties)
	if !ok {
		return
	}
	var obj map[string]any
	rc.tenant.View(func(st *TenantState) {
		if u := st.UserByUPNOrID(id); u != nil {
			obj = userObject(u)
		}
	})
	if obj == nil {
		rc.notFound(id)
		return
	}
	out := project(obj, sel, userDefaultProperties)
	delete(out, "@odata.type")
	out["@odata.context"] = rc.contextURL("users/$entity")
	rc.reply(out)
}

// transitiveMemberOf lists the user's groups and directory roles, direct
// and inherited, optionally cast to one type (graph.group,
// microsoft.graph.directoryRole, ...).
func (g *graphAPI) transitiveMemberOf(rc *graphRequest) {
	perm := permMemberships
	if rc.isMe() {
		perm = append(permission{"User.Read"}, permMemberships...)
	}
	if !rc.permitted("directory", perm) || !rc.allow(bucketDirectory) {
		return
	}
	id, ok := rc.subject()
	if !ok {
		return
	}
	cast := strings.TrimPrefix(strings.ToLower(rc.r.PathValue("cast")), "microsoft.")
	wantGroups, wantRoles := true, true
	typeName, props, fragment := "directoryObject", append(append([]string{}, groupProperties...), roleProperties...), "directoryObjects"
	switch cast {
	case "":
	case "graph.group":
		wantRoles, typeName, props, fragment = false, "group", groupProperties, "groups"
	case "graph.directoryrole":
		wantGroups, typeName, props, fragment = false, "directoryRole", roleProperties, "directoryRoles"
	default:
		rc.badRequest("Unsupported type cast segment '%s': want graph.group or graph.directoryRole.", rc.r.PathValue("cast"))
		return
	}
	sel, ok := rc.selectFields(typeName, props)
	if !ok {
		return
	}
	p, ok := rc.pageParams(g.s.GraphLimits().MemberPageSize)
	if !ok {
		return
	}
	var items []any
	found := false
	rc.tenant.View(func(st *TenantState) {
		u := st.UserByUPNOrID(id)
		if u == nil {
			return
		}
		found = true
		groups, roles := st.TransitiveMemberOf(u.ID)
		if wantGroups {
			for _, gr := range groups {
				items = append(items, project(map[string]any{
					"@odata.type": "#microsoft.graph.group", "id": gr.ID, "displayName": gr.DisplayName,
					"securityEnabled": true, "mailEnabled": false, "groupTypes": []string{}, "description": nil,
				}, sel, nil))
			}
		}
		if wantRoles {
			for _, r := range roles {
				items = append(items, project(map[string]any{
					"@odata.type": "#microsoft.graph.directoryRole", "id": r.ID, "displayName": r.DisplayName,
					"roleTemplateId": r.TemplateID, "description": nil,
				}, sel, nil))
			}
		}
	})
	if !found {
		rc.notFound(id)
		return
	}
	rc.replyPage(fragment, items, p)
}

func (g *graphAPI) listDomains(rc *graphRequest) {
	if !rc.permitted("directory", permDomains) || !rc.allow(bucketDirectory) {
		return
	}
	sel, ok := rc.selectFields("domain", domainProps)
	if !ok {
		return
	}
	var items []any
	rc.tenant.View(func(st *TenantState) {
		for _, d := range st.Domains {
			var validity any
			if d.PasswordValidityPeriodInDays > 0 {
				validity = d.PasswordValidityPeriodInDays
			}
			obj := map[string]any{
				"id": d.ID, "authenticationType": "Managed", "isAdminManaged": true, "isDefault": d.IsDefault,
				"isInitial": d.IsInitial, "isRoot": true, "isVerified": true,
				"passwordNotificationWindowInDays": d.PasswordNotificationWindow,
				"passwordValidityPeriodInDays":     validity,
				"supportedServices":                []string{"Email", "OfficeCommunicationsOnline"},
			}
			items = append(items, project(obj, sel, nil))
		}
	})
	rc.replyPage("domains", items, pageParams{top: maxTop, asOf: rc.now})
}

// authenticationRequirements is beta /users/{id}/authentication/requirements.
func (g *graphAPI) authenticationRequirements(rc *graphRequest) {
	if !rc.permitted("directory", permAuthMethods) || !rc.allow(bucketDirectory) {
		return
	}
	id := rc.r.PathValue("id")
	state := ""
	rc.tenant.View(func(st *TenantState) {
		if u := st.UserByUPNOrID(id); u != nil {
			state = u.PerUserMFAState
		}
	})
	if state == "" {
		rc.notFound(id)
		return
	}
	rc.reply(map[string]any{
		"@odata.context":  rc.contextURL("users('" + id + "')/authentication/requirements/$entity"),
		"perUserMfaState": state,
	})
}
