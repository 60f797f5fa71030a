package graph

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
)

// TestReaderAgainstSimulator drives every read with the real msgraph-sdk-go
// and MSAL clients, in both transport modes.
func TestReaderAgainstSimulator(t *testing.T) {
	for _, m := range []mode{modeA, modeB} {
		t.Run(string(m), func(t *testing.T) {
			e := newEnv(t, m)
			src := e.enroll(fxApp)
			r := e.reader(src, Limits{})
			ctx := ctxT(t)
			start := e.sim.Now()

			t.Run("policies over several pages", func(t *testing.T) {
				before := e.sim.GraphStats().ByStatus[200]
				pols, err := r.Policies(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, p := range pols {
					var head struct {
						DisplayName     string          `json:"displayName"`
						SessionControls json.RawMessage `json:"sessionControls"`
					}
					if err := json.Unmarshal(p, &head); err != nil {
						t.Fatal(err)
					}
					names = append(names, head.DisplayName)
				}
				want := []string{"MFA for admins", "Report-only MFA for sync group", "Block outside egress",
					"Compliant device for browsers", "Sign-in frequency 4 hours for device code"}
				if !reflect.DeepEqual(names, want) {
					t.Errorf("policies %v, want %v", names, want)
				}
				if got := e.sim.GraphStats().ByStatus[200] - before; got != 3 {
					t.Errorf("%d pages answered for 5 policies, want 3 pages of 2", got)
				}
				var sif struct {
					SessionControls struct {
						SignInFrequency struct {
							Value int `json:"value"`
						} `json:"signInFrequency"`
					} `json:"sessionControls"`
					Conditions struct {
						AuthenticationFlows struct {
							TransferMethods string `json:"transferMethods"`
						} `json:"authenticationFlows"`
					} `json:"conditions"`
				}
				_ = json.Unmarshal(pols[4], &sif)
				if sif.SessionControls.SignInFrequency.Value != 4 || sif.Conditions.AuthenticationFlows.TransferMethods != "deviceCodeFlow" {
					t.Errorf("raw policy lost fields: %s", pols[4])
				}
			})

			t.Run("named locations keep @odata.type", func(t *testing.T) {
				locs, err := r.NamedLocations(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var types []string
				for _, l := range locs {
					var head struct {
						Type string `json:"@odata.type"`
					}
					_ = json.Unmarshal(l, &head)
					types = append(types, head.Type)
				}
				if want := []string{"#microsoft.graph.ipNamedLocation", "#microsoft.graph.countryNamedLocation"}; !reflect.DeepEqual(types, want) {
					t.Errorf("types %v, want %v", types, want)
				}
			})

			t.Run("user", func(t *testing.T) {
				u, err := r.User(ctx, fxUPN)
				if err != nil {
					t.Fatal(err)
				}
				changed := time.Date(2026, 2, 20, 8, 0, 0, 0, time.UTC)
				want := User{ID: fxUser, UPN: fxUPN, AccountEnabled: true, LastPasswordChange: changed, SignInSessionsValidFrom: changed}
				if u != want {
					t.Errorf("user %+v, want %+v", u, want)
				}
			})

			t.Run("memberships through the casts", func(t *testing.T) {
				groups, roles, err := r.Memberships(ctx, fxUser)
				if err != nil {
					t.Fatal(err)
				}
				sort.Strings(groups)
				if !reflect.DeepEqual(groups, []string{fxGroup, fxNested}) || !reflect.DeepEqual(roles, []string{fxRoleTmpl}) {
					t.Errorf("groups %v roles %v", groups, roles)
				}
			})

			t.Run("domains", func(t *testing.T) {
				got, err := r.PasswordValidityDays(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if want := map[string]int{"graphco.onmicrosoft.com": 90, "graphco.example": 60}; !reflect.DeepEqual(got, want) {
					t.Errorf("validity %v, want %v", got, want)
				}
			})

			t.Run("per-user MFA (beta)", func(t *testing.T) {
				if got, err := r.PerUserMFAState(ctx, fxUser); err != nil || got != "enforced" {
					t.Errorf("got %q, %v; want enforced", got, err)
				}
			})

			t.Run("sign-ins v1.0 and beta non-interactive", func(t *testing.T) {
				// A forced redemption writes a non-interactive sign-in.
				if _, _, err := src.Token(ctx, []string{DefaultScope}, `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`); err != nil {
					t.Fatal(err)
				}
				since := start.Add(-time.Minute)
				inter, err := r.SignIns(ctx, SignInQuery{UserID: fxUser, AppID: fxApp, Since: since})
				if err != nil {
					t.Fatal(err)
				}
				non, err := r.SignIns(ctx, SignInQuery{UserID: fxUser, AppID: fxApp, Since: since, NonInteractive: true})
				if err != nil {
					t.Fatal(err)
				}
				check := func(name string, recs []json.RawMessage, interactive, beta bool) {
					if len(recs) == 0 {
						t.Fatalf("%s: no sign-ins", name)
					}
					for _, rec := range recs {
						var s struct {
							UserID        string   `json:"userId"`
							IsInteractive bool     `json:"isInteractive"`
							EventTypes    []string `json:"signInEventTypes"`
							Applied       []struct {
								Result string `json:"result"`
							} `json:"appliedConditionalAccessPolicies"`
						}
						_ = json.Unmarshal(rec, &s)
						if s.UserID != fxUser || s.IsInteractive != interactive || (s.EventTypes != nil) != beta {
							t.Errorf("%s: unexpected record %s", name, rec)
						}
						for _, a := range s.Applied {
							if a.Result == "unknownFutureValue" {
								t.Errorf("%s: report-only result hidden; the Prefer header was not sent", name)
							}
						}
					}
				}
				check("v1.0 interactive", inter, true, false)
				check("beta non-interactive", non, false, true)
			})

			t.Run("What If", func(t *testing.T) {
				req := `{"signInIdentity":{"@odata.type":"#microsoft.graph.userSignIn","userId":"` + fxUser + `"},
				  "signInContext":{"@odata.type":"#microsoft.graph.applicationContext","includeApplications":["00000003-0000-0000-c000-000000000000"]},
				  "signInConditions":{"clientAppType":"mobileAppsAndDesktopClients","devicePlatform":"linux","ipAddress":"127.0.0.1"},
				  "appliedPoliciesOnly":true}`
				res, err := r.WhatIf(ctx, json.RawMessage(req))
				if err != nil {
					t.Fatal(err)
				}
				if len(res) != 1 || !hasAll(string(res[0]), `"Report-only MFA for sync group"`, `"policyApplies":true`) {
					t.Errorf("What If: %s", res)
				}
			})
			// Pacing itself is proven deterministically in budget_test.go; here
			// scheduler jitter on a loaded machine can still cost a 429, which
			// the budget then absorbs (every read above succeeded).
			st := r.Budget().Stats()
			t.Logf("%d requests, %d throttled and retried, %s waited on the virtual clock", st.Requests, st.Throttled, st.Waited)
		})
	}
}

// TestReaderCAEChallenge: the next Graph call is challenged; the SDK
// retries once with the claims, MSAL redeems the refresh token with them,
// and the fresh token passes.
func TestReaderCAEChallenge(t *testing.T) {
	e := newEnv(t, modeB)
	src := e.enroll(fxApp)
	r := e.reader(src, Limits{})
	if err := e.sim.SetGraphControls(fxTenant, entrasim.GraphTenantControls{CAEChallenge: true}); err != nil {
		t.Fatal(err)
	}
	u, err := r.User(ctxT(t), fxUser)
	if err != nil || u.ID != fxUser {
		t.Fatalf("after a CAE challenge: %+v, %v", u, err)
	}
	claims := src.seenClaims()
	if len(claims) != 1 || !hasAll(claims[0], `"nbf"`, `"essential":true`) {
		t.Errorf("token source saw claims %q, want one nbf claims request", claims)
	}
	if st := e.sim.GraphStats(); st.ByStatus[401] != 1 {
		t.Errorf("simulator answered %d challenges, want 1", st.ByStatus[401])
	}
}
