package entrasim

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// signInFixture appends four sign-ins, oldest first:
// i1 interactive svc/canary, n1 non-interactive svc/canary (a report-only
// failure), n2 non-interactive svc/other app, i2 interactive admin/canary.
func signInFixture(s *Server) {
	t := s.Tenant(gTenant)
	add := func(id string, at time.Duration, user, app string, interactive bool, result string) {
		ev := []string{"nonInteractiveUser"}
		if interactive {
			ev = []string{"interactiveUser"}
		}
		s.RecordSignIn(t, SignIn{
			ID: id, CreatedDateTime: gStart.Add(at), UserID: user, AppID: app, IsInteractive: interactive,
			ConditionalAccessStatus: "success", SignInEventTypes: ev,
			AppliedConditionalAccessPolicies: []AppliedPolicy{{ID: "p", DisplayName: "P", Result: result}},
			SessionLifetimePolicies:          []SessionLifetimePolicy{{ExpirationRequirement: "signInFrequencyPeriodicReauthentication"}},
		})
	}
	add("i1", -3*time.Hour, gUser, gApp, true, "success")
	add("n1", -2*time.Hour, gUser, gApp, false, "reportOnlyFailure")
	add("n2", -90*time.Minute, gUser, gNarrowApp, false, "success")
	add("i2", -time.Hour, gOther, gApp, true, "success")
}

func TestGraphSignInFilters(t *testing.T) {
	s := newGraphSim(t)
	signInFixture(s)
	if err := s.SetGraphLimits(GraphLimits{PolicyPageSize: 2, SignInPageSize: 50, MemberPageSize: 2}); err != nil {
		t.Fatal(err) // throttling off: this test is about filtering
	}
	tok := mintToken(t, s, gUser, gApp, fullScopes)
	since := gStart.Add(-150 * time.Minute).Format(time.RFC3339)
	for _, tc := range []struct {
		version, filter string
		want            []string // newest first, as Graph orders them
		status          int
	}{
		{"v1.0", "", []string{"i2", "i1"}, 200},
		{"v1.0", "userId eq '" + gUser + "'", []string{"i1"}, 200},
		{"v1.0", "appId eq '" + gApp + "' and createdDateTime ge " + since, []string{"i2"}, 200},
		{"v1.0", "createdDateTime lt " + since, []string{"i1"}, 200},
		{"beta", "", []string{"i2", "i1"}, 200},
		{"beta", "userId eq '" + gUser + "' and signInEventTypes/any(t: t eq 'nonInteractiveUser')", []string{"n2", "n1"}, 200},
		{"beta", "signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser') and createdDateTime gt " + since, []string{"i2", "n2", "n1"}, 200},
		{"beta", "(appId eq '" + gNarrowApp + "' or userId eq '" + gOther + "') and signInEventTypes/any(t:t ne 'x')", []string{"i2", "n2"}, 200},
		{"beta", "not(userId eq '" + gUser + "')", []string{"i2"}, 200},
		{"v1.0", "signInEventTypes/any(t: t eq 'nonInteractiveUser')", nil, 400},
		{"v1.0", "shoeSize eq 'x'", nil, 400},
		{"v1.0", "createdDateTime ge 'yesterday'", nil, 400},
		{"v1.0", "userId eq 'unterminated", nil, 400},
		{"v1.0", "userId eq '" + gUser + "' and", nil, 400},
	} {
		t.Run(tc.version+" "+tc.filter, func(t *testing.T) {
			path := "/" + tc.version + "/auditLogs/signIns"
			if tc.filter != "" {
				path += "?$filter=" + url.QueryEscape(tc.filter)
			}
			r := call(t, s, "GET", path, tok, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if tc.status != 200 {
				if !strings.Contains(r.raw, "Invalid filter clause") {
					t.Errorf("error does not say the filter is invalid: %s", r.raw)
				}
				return
			}
			if got := ids(r.values()); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for _, v := range r.values() {
				_, beta := v["sessionLifetimePolicies"]
				if beta != (tc.version == "beta") {
					t.Errorf("%s: sessionLifetimePolicies present=%v on %s", v["id"], beta, tc.version)
				}
			}
		})
	}
}

func TestGraphSignInReportOnlyNeedsPreferHeader(t *testing.T) {
	s := newGraphSim(t)
	signInFixture(s)
	tok := mintToken(t, s, gUser, gApp, fullScopes)
	path := "/beta/auditLogs/signIns/n1"
	results := func(hdr ...string) string {
		s.Advance(2 * time.Second)
		r := call(t, s, "GET", path, tok, nil, hdr...)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		return r.body["appliedConditionalAccessPolicies"].([]any)[0].(map[string]any)["result"].(string)
	}
	if got := results(); got != "unknownFutureValue" {
		t.Errorf("without Prefer: %q, want unknownFutureValue", got)
	}
	if got := results("Prefer", "odata.maxpagesize=10, include-unknown-enum-members"); got != "reportOnlyFailure" {
		t.Errorf("with Prefer: %q, want reportOnlyFailure", got)
	}
}

func TestGraphSignInPagingAndThrottle(t *testing.T) {
	s := newGraphSim(t)
	signInFixture(s)
	tok := mintToken(t, s, gUser, gApp, fullScopes)
	url := "/beta/auditLogs/signIns?$top=1&$filter=" + url.QueryEscape("signInEventTypes/any(t: t eq 'nonInteractiveUser' or t eq 'interactiveUser')")
	var got []string
	var statuses []int
	for url != "" && len(statuses) < 10 {
		r := call(t, s, "GET", url, tok, nil)
		statuses = append(statuses, r.status)
		if r.status == http.StatusTooManyRequests {
			if r.header.Get("Retry-After") != "2" {
				t.Fatalf("Retry-After %q, want 2 (one request every 2 s refills 5 per 10 s)", r.header.Get("Retry-After"))
			}
			s.Advance(2 * time.Second)
			continue
		}
		// A sign-in arriving mid-iteration must not shift the pages.
		if len(got) == 1 {
			s.Advance(time.Second)
			s.RecordSignIn(s.Tenant(gTenant), SignIn{ID: "late", CreatedDateTime: s.Now(), UserID: gUser, IsInteractive: true})
		}
		got = append(got, ids(r.values())...)
		url, _ = r.body["@odata.nextLink"].(string)
	}
	if want := []string{"i2", "n2", "n1", "i1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pages gave %v, want %v", got, want)
	}
	// 4 pages fit in the burst of 5; nothing was throttled.
	if want := []int{200, 200, 200, 200}; !reflect.DeepEqual(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	var burst []int
	for range 3 {
		burst = append(burst, call(t, s, "GET", "/v1.0/auditLogs/signIns", tok, nil).status)
	}
	if want := []int{200, 429, 429}; !reflect.DeepEqual(burst, want) {
		t.Errorf("burst after 4 reads: %v, want %v (5 per 10 s)", burst, want)
	}
	s.Advance(2 * time.Second)
	if r := call(t, s, "GET", "/v1.0/auditLogs/signIns", tok, nil); r.status != 200 {
		t.Errorf("after Retry-After: %d", r.status)
	}
}

func TestTokenBucket(t *testing.T) {
	b := &tokenBucket{capacity: 5, rate: 0.5, tokens: 5, last: gStart}
	var got []bool
	for range 6 {
		ok, _ := b.take(gStart, 1)
		got = append(got, ok)
	}
	if want := []bool{true, true, true, true, true, false}; !reflect.DeepEqual(got, want) {
		t.Fatalf("burst %v, want %v", got, want)
	}
	if _, wait := b.take(gStart.Add(time.Second), 1); wait != time.Second {
		t.Errorf("after 1 s half a token is back; wait %v, want 1s", wait)
	}
	if ok, _ := b.take(gStart.Add(-time.Hour), 1); ok {
		t.Error("a clock moved backwards must not refill the bucket")
	}
	if ok, _ := b.take(gStart.Add(time.Hour), 1); !ok || b.tokens != 4 {
		t.Errorf("after an hour the bucket should be full then charged: tokens %v", b.tokens)
	}
}
