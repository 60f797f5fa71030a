package agent

import (
	"strings"

	"github.com/tokenhealth/tokenhealth/pkg/policy"
)

// A policy pass makes several Graph reads, and any of them can fail on its
// own: throttling, an outage, or a 401 right after the host clock was set
// back (the cached access token was issued on the other side of the jump).
// A failed read says nothing about the tenant, so it must not replace what
// an earlier pass read: an unread group membership would hide a sign-in
// frequency policy scoped to a group, and an unread password policy would
// fall back to the 90-day default. Together they moved a predicted break
// from the policy's date to an invented password expiry months later.
// The functions here keep the last known value of every read that failed.

// accountOrLastKnown is the service account as this pass read it, with
// each fact whose read failed taken from prev (the last pass's account),
// or marked unknown when no pass ever read it.
func (rd *tenantRead) accountOrLastKnown(upn string, prev policy.Account) policy.Account {
	if !strings.EqualFold(prev.UPN, upn) {
		prev = policy.Account{} // another account: nothing is known of it
	}
	if !rd.userRead {
		prev.UPN = upn
		if prev.ID == "" {
			prev.PasswordValidityUnknown = true
		}
		return prev
	}
	a := policy.Account{
		UPN: upn, ID: rd.user.ID, AccountEnabled: rd.user.AccountEnabled, LastPasswordChange: rd.user.LastPasswordChange,
		PasswordValidityDays: rd.validityDays, PerUserMFA: rd.perUserMFA,
	}
	if prev.ID != rd.user.ID {
		prev = policy.Account{PasswordValidityUnknown: true}
	}
	if !rd.validityRead {
		a.PasswordValidityDays, a.PasswordValidityUnknown = prev.PasswordValidityDays, prev.PasswordValidityUnknown
	}
	if !rd.perUserMFARead {
		a.PerUserMFA = prev.PerUserMFA
	}
	return a
}

// membershipsOrLastKnown is the account's groups and roles: as read by
// this pass, else as the last pass that evaluated the same account read
// them, else nil (unknown, which a group-scoped policy reports as such).
func (rd *tenantRead) membershipsOrLastKnown(prev policy.Subject) (groups, roles []string) {
	if rd.membershipsRead {
		return rd.groups, rd.roles
	}
	if rd.userRead && rd.user.ID != "" && prev.UserID == rd.user.ID {
		return prev.GroupIDs, prev.RoleTemplateIDs
	}
	return nil, nil
}
