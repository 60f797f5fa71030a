package agent

import (
	"reflect"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/graph"
	"github.com/tokenhealth/tokenhealth/pkg/policy"
)

const (
	lkUPN    = "svc-sync@tenant00031.onmicrosoft.com"
	lkUserID = "9f97c008-32d3-594e-8bc7-2d8c2b1ed166"
	lkGroup  = "3c1f4a52-0d3e-4f5a-9b61-7e2d8c4b1a07"
	never    = 2147483647
)

var lkChanged = time.Date(2025, 12, 24, 9, 0, 0, 0, time.UTC)

// fullRead is a pass in which every read succeeded.
func fullRead() tenantRead {
	return tenantRead{
		user:   graph.User{ID: lkUserID, UPN: lkUPN, AccountEnabled: true, LastPasswordChange: lkChanged},
		groups: []string{lkGroup}, roles: []string{}, validityDays: never, perUserMFA: "disabled",
		userRead: true, membershipsRead: true, validityRead: true, perUserMFARead: true,
	}
}

func TestAccountOrLastKnown(t *testing.T) {
	known := policy.Account{UPN: lkUPN, ID: lkUserID, AccountEnabled: true, LastPasswordChange: lkChanged,
		PasswordValidityDays: never, PerUserMFA: "disabled"}
	cases := []struct {
		name string
		read func(*tenantRead)
		prev policy.Account
		want policy.Account
	}{
		{"all read", func(*tenantRead) {}, policy.Account{}, known},
		{"password policy unread: last known kept", func(rd *tenantRead) { rd.validityRead, rd.validityDays = false, 0 }, known, known},
		{"password policy never read: unknown, not the 90-day default", func(rd *tenantRead) { rd.validityRead, rd.validityDays = false, 0 },
			policy.Account{}, policy.Account{UPN: lkUPN, ID: lkUserID, AccountEnabled: true, LastPasswordChange: lkChanged,
				PasswordValidityUnknown: true, PerUserMFA: "disabled"}},
		{"per-user MFA unread: last known kept", func(rd *tenantRead) { rd.perUserMFARead, rd.perUserMFA = false, "" },
			func() policy.Account { a := known; a.PerUserMFA = "enforced"; return a }(),
			func() policy.Account { a := known; a.PerUserMFA = "enforced"; return a }()},
		{"user unread: the whole last known account", func(rd *tenantRead) { *rd = tenantRead{} }, known, known},
		{"user never read", func(rd *tenantRead) { *rd = tenantRead{} }, policy.Account{},
			policy.Account{UPN: lkUPN, PasswordValidityUnknown: true}},
		{"another service account configured: nothing carried over", func(rd *tenantRead) { rd.validityRead, rd.validityDays = false, 0 },
			func() policy.Account { a := known; a.UPN = "old@tenant00031.onmicrosoft.com"; return a }(),
			policy.Account{UPN: lkUPN, ID: lkUserID, AccountEnabled: true, LastPasswordChange: lkChanged,
				PasswordValidityUnknown: true, PerUserMFA: "disabled"}},
		{"read values replace last known ones", func(rd *tenantRead) { rd.validityDays, rd.perUserMFA = 90, "enabled" },
			known, func() policy.Account { a := known; a.PasswordValidityDays, a.PerUserMFA = 90, "enabled"; return a }()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rd := fullRead()
			c.read(&rd)
			if got := rd.accountOrLastKnown(lkUPN, c.prev); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestMembershipsOrLastKnown(t *testing.T) {
	prev := policy.Subject{UserID: lkUserID, GroupIDs: []string{lkGroup}, RoleTemplateIDs: []string{}}
	cases := []struct {
		name       string
		read       func(*tenantRead)
		prev       policy.Subject
		wantGroups []string
	}{
		{"read", func(rd *tenantRead) { rd.groups = []string{"new"} }, prev, []string{"new"}},
		{"read: member of none", func(rd *tenantRead) { rd.groups = []string{} }, prev, []string{}},
		{"unread: last known", func(rd *tenantRead) { rd.membershipsRead, rd.groups = false, nil }, prev, []string{lkGroup}},
		{"unread, never read: unknown", func(rd *tenantRead) { rd.membershipsRead, rd.groups = false, nil }, policy.Subject{}, nil},
		{"unread, another account before: unknown", func(rd *tenantRead) { rd.membershipsRead, rd.groups = false, nil },
			policy.Subject{UserID: "other", GroupIDs: []string{lkGroup}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rd := fullRead()
			c.read(&rd)
			groups, _ := rd.membershipsOrLastKnown(c.prev)
			if !reflect.DeepEqual(groups, c.wantGroups) {
				t.Errorf("groups %#v, want %#v", groups, c.wantGroups)
			}
		})
	}
}

// TestFailedReadsKeepThePrediction replays the clock-jump finding: a pass
// in which the membership, domain and per-user MFA reads failed (401 after
// the clock was set back) predicted the break at an invented password
// expiry (2026-03-24) instead of the 4-day sign-in frequency (2026-01-09).
func TestFailedReadsKeepThePrediction(t *testing.T) {
	sif := `{"value":[{"id":"sif-4d","displayName":"Sign-in frequency 4 days","state":"enabled",
 "conditions":{"users":{"includeGroups":["` + lkGroup + `"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},
 "sessionControls":{"signInFrequency":{"isEnabled":true,"value":4,"type":"days","authenticationType":"primaryAndSecondaryAuthentication","frequencyInterval":"timeBased"}}}]}`
	pols := policy.LoadBytes("sif", []byte(sif)).Policies
	enrolled := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	pass := func(rd tenantRead, prevAcct policy.Account, prevSubj policy.Subject) (time.Time, policy.Account, policy.Subject) {
		groups, roles := rd.membershipsOrLastKnown(prevSubj)
		subj := policy.Subject{UserID: rd.user.ID, UPN: lkUPN, GroupIDs: groups, RoleTemplateIDs: roles, AuthFlow: policy.FlowDeviceCode}
		acct := rd.accountOrLastKnown(lkUPN, prevAcct)
		f := policy.Predict(policy.PredictInput{
			Clocks:  policy.Clocks{InteractiveSignIn: enrolled, InteractiveSignInSource: "enrollment", LastRedemption: enrolled, ClientType: "public", AuthFlow: policy.FlowDeviceCode},
			Account: acct, CanaryKeptAlive: true, Evaluations: policy.Evaluate(pols, nil, subj), Now: enrolled.Add(3 * time.Hour),
		})
		var at time.Time
		for _, fd := range f.Findings {
			if !fd.PredictedAt.IsZero() {
				at = fd.PredictedAt
			}
		}
		return at, acct, subj
	}
	first, acct, subj := pass(fullRead(), policy.Account{}, policy.Subject{})
	if want := enrolled.Add(4 * 24 * time.Hour); !first.Equal(want) {
		t.Fatalf("first pass predicts %s, want %s", first, want)
	}
	failed := fullRead()
	failed.membershipsRead, failed.groups, failed.roles = false, nil, nil
	failed.validityRead, failed.validityDays = false, 0
	failed.perUserMFARead, failed.perUserMFA = false, ""
	if second, _, _ := pass(failed, acct, subj); !second.Equal(first) {
		t.Errorf("a pass with failed reads predicts %s, the last full pass %s", second, first)
	}
}
