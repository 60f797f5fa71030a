package policy

import "strings"

// App groups ("Office365", "MicrosoftAdminPortals") are resolved to a
// membership answer for the resource the token is for.
//
// Sources (Microsoft Learn, entra-docs repository):
//   - docs/identity/conditional-access/reference-office-365-application-contents.md
//     ("Apps included in Conditional Access Office 365 app suite") lists the
//     suite by service NAME only (Office 365 Exchange Online, Office 365
//     SharePoint Online, Microsoft Teams Services, Skype for Business Online,
//     Viva Engage, Microsoft Office 365 Portal, Microsoft Planner, Microsoft
//     Forms, Office Delve, Sway, Microsoft Stream Service, PowerApps Service,
//     ...). Microsoft Graph is NOT in that list.
//   - docs/identity/conditional-access/concept-conditional-access-cloud-apps.md
//     says Microsoft Graph cannot be targeted itself: "Microsoft Graph
//     functions as an umbrella resource. Use Audience Reporting to see the
//     underlying services". A Graph token that carries Exchange, SharePoint
//     or Teams scopes is evaluated against those services.
//
// Consequences encoded below:
//   - resource = Microsoft Graph and the policy names Office365: UNKNOWN. A
//     provisioning platform's Graph token normally carries mail, site and
//     team scopes, whose enforcement audience is in the suite, but which
//     scopes the token holds is not known here.
//   - resource = one of the app ids below: member (true).
//   - resource = Azure AD Graph or Microsoft Graph for MicrosoftAdminPortals:
//     not a member (false); the documented admin portals are the Azure
//     portal, Exchange admin center, Microsoft 365 admin center, Microsoft
//     365 Defender portal, Entra admin center, Intune admin center, Purview
//     portal and Teams admin center, all browser front ends.
//   - any other resource: unknown, because the documentation names services
//     rather than application ids and Microsoft keeps adding members.

// office365Members are application ids of services the Office 365 suite
// documentation names, limited to ids that are stable and widely published.
var office365Members = map[string]string{
	"00000002-0000-0ff1-ce00-000000000000": "Office 365 Exchange Online",
	"00000003-0000-0ff1-ce00-000000000000": "Office 365 SharePoint Online",
	"00000004-0000-0ff1-ce00-000000000000": "Skype for Business Online",
	"00000005-0000-0ff1-ce00-000000000000": "Viva Engage (Yammer)",
	"00000006-0000-0ff1-ce00-000000000000": "Microsoft Office 365 Portal",
	"cc15fd57-2c6c-4117-a88c-83b1d56b4bbe": "Microsoft Teams Services",
}

// adminPortalMembers are resource ids of documented admin portals.
var adminPortalMembers = map[string]string{
	"c44b4083-3bb0-49c1-b47d-974e53cbdf3c": "Azure portal",
}

// appGroupMembership answers whether resource belongs to the named group,
// with the reason.
func appGroupMembership(group, resource string) (Tri, string) {
	r := strings.ToLower(resource)
	switch {
	case strings.EqualFold(group, "Office365"):
		if n, ok := office365Members[r]; ok {
			return True, "resource " + n + " is in the Office 365 app suite"
		}
		switch r {
		case MicrosoftGraphAppID:
			return Unknown, "Office 365 app suite: Microsoft Graph is not a documented member, but Graph requests for Exchange, SharePoint or Teams data are enforced as those services (audience reporting); depends on the token's scopes"
		case AzureADGraphAppID:
			return False, "Office 365 app suite does not include Windows Azure Active Directory"
		}
		return Unknown, "Office 365 app suite membership of resource " + resource + " is not known (the documentation lists services by name only)"
	case strings.EqualFold(group, "MicrosoftAdminPortals"):
		if n, ok := adminPortalMembers[r]; ok {
			return True, "resource " + n + " is a Microsoft admin portal"
		}
		if r == MicrosoftGraphAppID || r == AzureADGraphAppID {
			return False, "Microsoft Admin Portals covers the admin portals' own sign-ins, not API tokens for " + resourceLabel(r)
		}
		if _, ok := office365Members[r]; ok {
			return False, "Microsoft Admin Portals does not cover " + office365Members[r]
		}
		return Unknown, "Microsoft Admin Portals membership of resource " + resource + " is not known"
	}
	return Unknown, "unknown application group " + group
}

func resourceLabel(id string) string {
	switch strings.ToLower(id) {
	case MicrosoftGraphAppID:
		return "Microsoft Graph"
	case AzureADGraphAppID:
		return "Azure AD Graph"
	}
	if n, ok := office365Members[strings.ToLower(id)]; ok {
		return n
	}
	return id
}
