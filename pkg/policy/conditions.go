package policy

import (
	"fmt"
	"strings"
)

// Each condition returns a Tri and one human-readable reason. A reason is
// empty only when the condition is not configured at all.

// usersCondition: exclusions win over inclusions; membership the caller did
// not supply (nil GroupIDs/RoleTemplateIDs) makes the answer unknown.
func usersCondition(u *UsersCondition, s *Subject) (Tri, string) {
	if u == nil {
		return Unknown, "policy has no users condition"
	}
	// Exclusions first: a match ends the evaluation.
	excl, exclUnknown := matchPrincipals(s, u.ExcludeUsers, u.ExcludeGroups, u.ExcludeRoles, u.ExcludeGuestsOrExternalUsers)
	if excl != "" {
		return False, "user excluded by " + excl
	}
	incl, inclUnknown := matchPrincipals(s, u.IncludeUsers, u.IncludeGroups, u.IncludeRoles, u.IncludeGuestsOrExternalUsers)
	switch {
	case incl != "" && exclUnknown != "":
		return Unknown, "user included by " + incl + ", but exclusion unknown: " + exclUnknown
	case incl == matchAllUsers:
		return True, reasonAllUsers
	case incl != "":
		return True, "user included by " + incl
	case inclUnknown != "":
		return Unknown, "user inclusion unknown: " + inclUnknown
	}
	if u.IncludeUsers.hasFold("None") {
		return False, "policy includes no users (None)"
	}
	return False, "user not included (not in the policy's users, groups or roles)"
}

// matchPrincipals returns what matched the subject, or why a match cannot
// be decided.
func matchPrincipals(s *Subject, users, groups, roles StringList, guests *GuestsOrExternal) (match, unknown string) {
	for _, id := range users {
		switch {
		case strings.EqualFold(id, "All"):
			return matchAllUsers, ""
		case strings.EqualFold(id, "None"):
		case strings.EqualFold(id, "GuestsOrExternalUsers"):
			if s.IsGuest {
				return "GuestsOrExternalUsers (the account is a guest)", ""
			}
		case s.UserID == "":
			unknown = "user id not given; policy lists user " + id
		case strings.EqualFold(id, s.UserID):
			return s.name("user id", id), ""
		}
	}
	if m, u := matchIDs(s, "group", groups, s.GroupIDs); m != "" {
		return m, ""
	} else if u != "" && unknown == "" {
		unknown = u
	}
	if m, u := matchIDs(s, "role", roles, s.RoleTemplateIDs); m != "" {
		return m, ""
	} else if u != "" && unknown == "" {
		unknown = u
	}
	if guests != nil && s.IsGuest && unknown == "" {
		unknown = "the account is a guest; whether its guest type is one of " + guests.GuestOrExternalUserTypes + " is not known"
	}
	return "", unknown
}

func matchIDs(s *Subject, kind string, want StringList, have []string) (match, unknown string) {
	if len(want) == 0 {
		return "", ""
	}
	if have == nil {
		return "", fmt.Sprintf("%s membership not known; policy lists %d %s(s)", kind, len(want), kind)
	}
	for _, w := range want {
		for _, h := range have {
			if strings.EqualFold(w, h) {
				return s.name(kind, w), ""
			}
		}
	}
	return "", ""
}

// applicationsCondition decides whether a refresh for s.ResourceAppID is
// in scope. Conditional Access targets resources, not clients (documented
// in concept-conditional-access-cloud-apps.md), so the client app id only
// ever yields "unknown".
func applicationsCondition(a *ApplicationsCondition, s *Subject) (Tri, string) {
	if a == nil {
		return Unknown, "policy has no applications condition"
	}
	if len(a.IncludeUserActions) > 0 {
		return False, "policy targets user actions (" + strings.Join(a.IncludeUserActions, ", ") + "); a token refresh is not a user action"
	}
	if len(a.IncludeAuthenticationContextClassReferences) > 0 {
		return False, "policy targets authentication contexts (" + strings.Join(a.IncludeAuthenticationContextClassReferences, ", ") + "); a token refresh for " + resourceLabel(s.ResourceAppID) + " requests none"
	}
	exc, excWhy := appListMatch(a.ExcludeApplications, s)
	if exc == True {
		return False, "resource excluded: " + excWhy
	}
	inc, incWhy := appListMatch(a.IncludeApplications, s)
	if f := a.ApplicationFilter; f != nil && strings.TrimSpace(f.Rule) != "" {
		filterWhy := fmt.Sprintf("application filter (%s: %s) depends on custom security attributes of the resource app, which are not read", f.Mode, f.Rule)
		if inc != True || !strings.EqualFold(f.Mode, "include") {
			return Unknown, filterWhy
		}
	}
	switch {
	case inc == False:
		return False, "resource not included: " + incWhy
	case inc == Unknown:
		return Unknown, "application condition unknown: " + incWhy
	case exc == Unknown:
		return Unknown, "resource included (" + incWhy + "), but exclusion unknown: " + excWhy
	}
	if incWhy == matchAllResources {
		return True, reasonAllResources
	}
	return True, "resource included: " + incWhy
}

// Reasons for the common "All" cases are constants: most policies in a
// tenant target all users and all resources, and building these strings
// per evaluation was the evaluator's largest allocation.
const (
	matchAllUsers      = "All users"
	reasonAllUsers     = "user included by " + matchAllUsers
	matchAllResources  = "All resources"
	reasonAllResources = "resource included: " + matchAllResources
)

func appListMatch(list StringList, s *Subject) (Tri, string) {
	if len(list) == 0 {
		return False, "no applications listed"
	}
	res, why := False, ""
	for _, id := range list {
		var t Tri
		var w string
		switch {
		case strings.EqualFold(id, "All"):
			t, w = True, matchAllResources
		case strings.EqualFold(id, "None"):
			t, w = False, "None"
		case strings.EqualFold(id, "Office365"), strings.EqualFold(id, "MicrosoftAdminPortals"):
			t, w = appGroupMembership(id, s.ResourceAppID)
		case strings.EqualFold(id, s.ResourceAppID):
			t, w = True, resourceLabel(id)+" listed by app id"
		case s.ClientAppID != "" && strings.EqualFold(id, s.ClientAppID):
			t, w = Unknown, "policy lists the client app "+id+"; Conditional Access applies to a client only when a confidential client requests an ID token"
		default:
			continue
		}
		if t == True {
			return True, w
		}
		if t == Unknown && res != Unknown {
			res, why = Unknown, w
		}
		if why == "" {
			why = w
		}
	}
	if why == "" {
		why = resourceLabel(s.ResourceAppID) + " (" + s.ResourceAppID + ") is not listed"
	}
	return res, why
}

var knownClientAppTypes = map[string]bool{
	"all": true, "browser": true, "mobileappsanddesktopclients": true,
	"exchangeactivesync": true, "eassupported": true, "other": true,
}

func clientAppTypesCondition(types StringList, s *Subject) (Tri, string) {
	if len(types) == 0 || types.hasFold("all") {
		return True, "all client app types"
	}
	if types.hasFold(s.ClientAppType) {
		return True, s.cached.clientTypeIncluded
	}
	for _, t := range types {
		if !knownClientAppTypes[strings.ToLower(t)] {
			return Unknown, "client app type value " + t + " is unknown"
		}
	}
	return False, "client app types (" + strings.Join(types, ", ") + ") do not include " + s.ClientAppType
}

var knownPlatforms = map[string]bool{
	"android": true, "ios": true, "windows": true, "windowsphone": true,
	"macos": true, "linux": true, "all": true,
}

// platformsCondition assumes Entra detects the platform as s.DevicePlatform
// (linux by default). Entra derives the platform from the user agent and a
// Go HTTP client may instead be seen as an unknown platform: only policies
// that list "all" are certain either way.
func platformsCondition(p *PlatformsCondition, s *Subject) (Tri, string) {
	if p == nil || (len(p.IncludePlatforms) == 0 && len(p.ExcludePlatforms) == 0) {
		return True, ""
	}
	if p.ExcludePlatforms.hasFold("all") || p.ExcludePlatforms.hasFold(s.DevicePlatform) {
		return False, s.cached.platformExcluded
	}
	if len(p.IncludePlatforms) == 0 || p.IncludePlatforms.hasFold("all") || p.IncludePlatforms.hasFold(s.DevicePlatform) {
		for _, v := range p.ExcludePlatforms {
			if !knownPlatforms[strings.ToLower(v)] {
				return Unknown, "excluded platform value " + v + " is unknown"
			}
		}
		return True, s.cached.platformIncluded
	}
	for _, v := range p.IncludePlatforms {
		if !knownPlatforms[strings.ToLower(v)] {
			return Unknown, "included platform value " + v + " is unknown"
		}
	}
	return False, "device platform " + s.DevicePlatform + " not included (" + strings.Join(p.IncludePlatforms, ", ") + ")"
}

// deviceFilterCondition evaluates a filter for devices for a server with no
// registered device (see devicefilter.go).
func deviceFilterCondition(f *Filter, rule ruleNode, ruleErr error) (Tri, string) {
	if f == nil || strings.TrimSpace(f.Rule) == "" {
		return True, ""
	}
	if ruleErr != nil {
		return Unknown, fmt.Sprintf("device filter rule %q cannot be evaluated: %v", f.Rule, ruleErr)
	}
	m := rule.matchUnregistered()
	switch {
	case strings.EqualFold(f.Mode, "include") && m:
		return True, "device filter (include) matches an unregistered device: " + f.Rule
	case strings.EqualFold(f.Mode, "include"):
		return False, "device filter (include) does not match an unregistered device: " + f.Rule
	case strings.EqualFold(f.Mode, "exclude") && m:
		return False, "device filter (exclude) matches an unregistered device, so it is excluded: " + f.Rule
	case strings.EqualFold(f.Mode, "exclude"):
		return True, "device filter (exclude) does not exclude an unregistered device: " + f.Rule
	}
	return Unknown, "device filter mode " + f.Mode + " is unknown"
}

// authFlowsCondition matches the token's enrollment flow. A session begun
// with the device code flow stays "protocol tracked", so its refreshes are
// in scope too (domain.md section 3).
func authFlowsCondition(methods []string, s *Subject) (Tri, string) {
	if len(methods) == 0 {
		return True, ""
	}
	res, why := False, "token was not obtained by "+strings.Join(methods, ",")
	for _, m := range methods {
		switch {
		case strings.EqualFold(m, "deviceCodeFlow"):
			switch s.AuthFlow {
			case FlowDeviceCode:
				return True, "token was enrolled with the device code flow (protocol-tracked session)"
			case "":
				res, why = Unknown, "authentication flow condition (deviceCodeFlow) and the token's enrollment flow is not known"
			}
		case strings.EqualFold(m, "authenticationTransfer"):
			// The agent and the platform never use authentication transfer.
		default:
			if res != Unknown {
				res, why = Unknown, "authentication flow value "+m+" is unknown"
			}
		}
	}
	return res, why
}

// riskCondition: risk levels are unknown unless the caller supplies them.
func riskCondition(kind string, levels []string, have string) (Tri, string) {
	if len(levels) == 0 {
		return True, ""
	}
	if have == "" {
		return Unknown, fmt.Sprintf("%s risk condition (%s) and the account's %s risk is not known", kind, strings.Join(levels, ", "), kind)
	}
	for _, l := range levels {
		if strings.EqualFold(l, have) {
			return True, fmt.Sprintf("%s risk %s is in scope", kind, have)
		}
	}
	return False, fmt.Sprintf("%s risk %s is not in (%s)", kind, have, strings.Join(levels, ", "))
}
