package graph

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
)

// TestCAPolicies429WithoutRetryAfter: a client configured faster than
// Graph's 1 request/s gets the CA 429 that carries no Retry-After; the
// budget backs off on its own (1 s, doubling) and the read completes.
func TestCAPolicies429WithoutRetryAfter(t *testing.T) {
	e := newEnv(t, modeA)
	src := e.enroll(fxApp)
	fast := DefaultLimits()
	fast.CAPerSecond, fast.Headroom = 1000, 0
	r := e.reader(src, fast)
	start := e.clock.Now()
	pols, err := r.Policies(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	elapsed := e.clock.Now().Sub(start)
	sim, budget := e.sim.GraphStats(), r.Budget().Stats()
	if len(pols) != 5 || sim.Throttled["ca"] == 0 || budget.Throttled != sim.Throttled["ca"] {
		t.Errorf("%d policies, simulator throttled %d, budget saw %d: want 5 policies after at least one absorbed 429",
			len(pols), sim.Throttled["ca"], budget.Throttled)
	}
	if elapsed < 2*time.Second {
		t.Errorf("3 pages took %s of virtual time; honouring 1 request/s needs at least 2 s", elapsed)
	}

	// A POST is re-sent with its (compressed) body intact after a 429 that
	// Graph sent before reading the body.
	whatIf := json.RawMessage(`{"signInIdentity":{"userId":"` + fxUser + `"},"signInContext":{"includeApplications":["All"]},"appliedPoliciesOnly":true}`)
	throttledBefore := e.sim.GraphStats().Throttled["ca"]
	for i := range 2 {
		if _, err := r.WhatIf(ctxT(t), whatIf); err != nil {
			t.Fatalf("What If %d: %v", i, err)
		}
	}
	if e.sim.GraphStats().Throttled["ca"] == throttledBefore {
		t.Error("the second What If was not throttled; the body replay went untested")
	}

	// Without retries the 429 reaches the caller, classified.
	none := DefaultLimits()
	none.CAPerSecond, none.Headroom, none.MaxThrottleRetries = 1000, 0, 0
	r = e.reader(src, none)
	_, err = r.Policies(ctxT(t))
	_, err2 := r.NamedLocations(ctxT(t))
	if err == nil {
		err = err2
	}
	ge := asError(t, err)
	if !ge.Throttled || ge.Status != 429 || ge.RetryAfter != 0 || !ge.Transient() ||
		!hasAll(ge.Error(), "tenant "+fxTenant, "read ", "429 TooManyRequests: throttled by Graph") {
		t.Errorf("got %+v: %v", ge, ge)
	}
}

// TestSignIns429WithRetryAfter: the sign-in log limit answers with
// Retry-After, which the budget honours on the virtual clock.
func TestSignIns429WithRetryAfter(t *testing.T) {
	e := newEnv(t, modeB)
	src := e.enroll(fxApp)
	fast := DefaultLimits()
	fast.SignInsPerWindow, fast.Headroom = 1000, 0
	r := e.reader(src, fast)
	for i := range 7 {
		if _, err := r.SignIns(ctxT(t), SignInQuery{UserID: fxUser}); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if got := e.sim.GraphStats().Throttled["signIns"]; got < 1 {
		t.Errorf("simulator throttled %d sign-in reads, want at least 1 (7 reads against 5 per 10 s)", got)
	}
}

func TestLicenceAndPermissionFindings(t *testing.T) {
	e := newEnv(t, modeA)
	canary := e.reader(e.enroll(fxApp), Limits{})
	narrow := e.reader(e.enroll(fxNarrowApp), Limits{})
	ctx := ctxT(t)
	if err := e.sim.SetGraphControls(fxTenant, entrasim.GraphTenantControls{NoP1Licence: true}); err != nil {
		t.Fatal(err)
	}
	_, err := canary.SignIns(ctx, SignInQuery{UserID: fxUser})
	ge := asError(t, err)
	if !ge.MissingLicence || ge.Status != 403 || ge.Transient() ||
		!hasAll(ge.Error(), "403 Authentication_RequestFromNonPremiumTenantOrB2CTenant: an Entra ID P1 licence is needed to read sign-in logs") {
		t.Errorf("licence: %+v\n%v", ge, ge)
	}
	if err := e.sim.SetGraphControls(fxTenant, entrasim.GraphTenantControls{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"policies", func() error { _, err := narrow.Policies(ctx); return err },
			"403 AccessDenied: the delegated permission Policy.Read.All is needed to read Conditional Access policies"},
		{"sign-ins", func() error { _, err := narrow.SignIns(ctx, SignInQuery{UserID: fxUser}); return err },
			"403 Authentication_MSGraphPermissionMissing: the delegated permission AuditLog.Read.All (and Directory.Read.All) is needed to read sign-in logs"},
		{"memberships", func() error { _, _, err := narrow.Memberships(ctx, fxUser); return err },
			"403 Authorization_RequestDenied: the delegated permission GroupMember.Read.All (or Directory.Read.All) is needed to read transitive group and role memberships"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ge := asError(t, tc.call())
			if ge.MissingPermission == "" || !strings.Contains(ge.Error(), tc.want) {
				t.Errorf("got %v\nwant it to contain %q", ge, tc.want)
			}
		})
	}
}

func TestBearerTokenRequiredAndTokenFailures(t *testing.T) {
	e := newEnv(t, modeB)
	const bogus = "bogus-token-value"
	r := e.reader(TokenSourceFunc(func(context.Context, []string, string) (string, time.Time, error) {
		return bogus, time.Now().Add(time.Hour), nil
	}), Limits{})
	_, err := r.User(ctxT(t), fxUser)
	ge := asError(t, err)
	if ge.Status != 401 || ge.Code != "InvalidAuthenticationToken" || !strings.Contains(ge.Error(), "the access token was rejected") {
		t.Errorf("got %v", ge)
	}
	if strings.Contains(ge.Error(), bogus) {
		t.Error("the error text contains the token")
	}
	if n := e.sim.GraphStats().ByStatus[401]; n != 1 {
		t.Errorf("%d 401 answers, want 1: a 401 without claims must not be retried", n)
	}

	boom := errors.New("AADSTS70043: sign-in frequency")
	r = e.reader(TokenSourceFunc(func(context.Context, []string, string) (string, time.Time, error) {
		return "", time.Time{}, boom
	}), Limits{})
	_, err = r.PasswordValidityDays(ctxT(t))
	ge = asError(t, err)
	if ge.Status != 0 || !errors.Is(err, boom) || ge.Transient() || !strings.Contains(ge.Error(), "getting a token: AADSTS70043") {
		t.Errorf("token failure: %+v %v", ge, ge)
	}
}

// TestClassifyIsNilSafe: error bodies without an "error" object (which make
// ODataError.Error() panic) and non-OData bodies are still classified.
func TestClassifyIsNilSafe(t *testing.T) {
	r := &Reader{tenant: fxTenant}
	empty := odataerrors.NewODataError()
	empty.SetStatusCode(403)
	api := &abstractions.ApiError{Message: "text does not support structured data", ResponseStatusCode: 502}
	for _, tc := range []struct {
		name      string
		err       error
		status    int
		transient bool
		want      string
	}{
		{"OData error without body", empty, 403, false,
			"graph: tenant " + fxTenant + ": read sign-in logs: 403: the delegated permission AuditLog.Read.All (and Directory.Read.All) or an Entra ID P1 licence is needed to read sign-in logs"},
		{"non-OData body", api, 502, true, "graph: tenant " + fxTenant + ": read sign-in logs: 502: text does not support structured data"},
		{"network", context.DeadlineExceeded, 0, true, "graph: tenant " + fxTenant + ": read sign-in logs: context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ge := r.classify(opSignIns, tc.err)
			if ge.Status != tc.status || ge.Transient() != tc.transient || ge.Error() != tc.want {
				t.Errorf("got status %d transient %v %q\nwant status %d transient %v %q", ge.Status, ge.Transient(), ge.Error(), tc.status, tc.transient, tc.want)
			}
		})
	}
}

func TestNewReaderRejectsBadConfig(t *testing.T) {
	src := TokenSourceFunc(func(context.Context, []string, string) (string, time.Time, error) { return "", time.Time{}, nil })
	hc := NewHTTPClient(nil)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Tokens: src, HTTPClient: hc}, "graph: tenant id is required"},
		{Config{TenantID: "t", HTTPClient: hc}, "graph: tenant t: a token source is required"},
		{Config{TenantID: "t", Tokens: src}, "graph: tenant t: an HTTP client from NewHTTPClient is required"},
		{Config{TenantID: "t", Tokens: src, HTTPClient: hc, GraphURL: "http://graph.example"}, `graph: graph URL "http://graph.example": want https://host[:port] without a path`},
		{Config{TenantID: "t", Tokens: src, HTTPClient: hc, GraphURL: "https://graph.example/v1.0"}, `graph: graph URL "https://graph.example/v1.0": want https://host[:port] without a path`},
		{Config{TenantID: "t", Tokens: src, HTTPClient: hc, Limits: Limits{CAPerSecond: -1}}, "graph: tenant t: limits: CAPerSecond -1 must be positive"},
	} {
		if _, err := NewReader(tc.cfg); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func TestUnknownUserAndForeignNextLink(t *testing.T) {
	e := newEnv(t, modeA)
	r := e.reader(e.enroll(fxApp), Limits{})
	_, err := r.User(ctxT(t), "gone@graphco.onmicrosoft.com")
	ge := asError(t, err)
	if !ge.NotFound() || ge.Code != "Request_ResourceNotFound" || ge.Transient() ||
		!strings.Contains(ge.Error(), "read the user: 404 Request_ResourceNotFound: Resource 'gone@graphco.onmicrosoft.com' does not exist") {
		t.Errorf("got %v", ge)
	}
	for _, link := range []string{"https://evil.example/v1.0/users?$skiptoken=x", "http://" + e.sim.Addr() + "/v1.0/users", "::"} {
		if _, err := r.requestFor(abstractions.GET, link); err == nil {
			t.Errorf("requestFor(%q) accepted a link off the Graph host", link)
		}
	}
	if _, err := r.requestFor(abstractions.GET, e.sim.BaseURL()+"/v1.0/users?$skiptoken=x"); err != nil {
		t.Errorf("same-host link refused: %v", err)
	}
}
