package graph

import (
	"context"
	"strconv"
	"testing"
	"time"
)

func TestSignInQueryFilter(t *testing.T) {
	since := time.Date(2026, 3, 1, 7, 30, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		q    SignInQuery
		want string
	}{
		{SignInQuery{}, ""},
		{SignInQuery{UserID: fxUser}, "userId eq '" + fxUser + "'"},
		{SignInQuery{UserID: "o'brien", AppID: fxApp, Since: since},
			"userId eq 'o''brien' and appId eq '" + fxApp + "' and createdDateTime ge 2026-03-01T06:30:00Z"},
		{SignInQuery{UserID: fxUser, NonInteractive: true},
			"userId eq '" + fxUser + "' and signInEventTypes/any(t: t eq 'nonInteractiveUser')"},
	} {
		if got := tc.q.filter(); got != tc.want {
			t.Errorf("%+v: filter %q, want %q", tc.q, got, tc.want)
		}
	}
	if got, want := odataParam("$filter", "userId eq 'a b'"), "$filter=userId%20eq%20%27a%20b%27"; got != want {
		t.Errorf("odataParam = %q, want %q", got, want)
	}
}

func TestSignInPageSizeIsValidated(t *testing.T) {
	r := &Reader{tenant: fxTenant}
	for _, n := range []int{-1, 1000} {
		_, err := r.SignIns(context.Background(), SignInQuery{PageSize: n})
		if ge := asError(t, err); ge.Error() != "graph: tenant "+fxTenant+": read sign-in logs: page size "+strconv.Itoa(n)+": want 1..999" {
			t.Errorf("page size %d: %v", n, ge)
		}
	}
}
