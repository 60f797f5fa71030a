package graph

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/transport"
)

// fuzzGraph is one TLS server that answers the first request of every read
// with the fuzzed status and body (later pages get an empty collection, so
// a nextLink back to the server is followed once and the read ends).
type fuzzGraph struct {
	srv *httptest.Server
	hc  *http.Client

	mu     sync.Mutex
	status int
	body   []byte
	served map[string]bool
}

func newFuzzGraph(tb testing.TB) *fuzzGraph {
	g := &fuzzGraph{}
	g.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		first := !g.served[r.URL.Path]
		g.served[r.URL.Path] = true
		status, body := g.status, g.body
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !first {
			_, _ = w.Write([]byte(`{"value":[]}`))
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(strings.ReplaceAll(string(body), "{{BASE}}", "https://"+r.Host)))
	}))
	tb.Cleanup(g.srv.Close)
	tr, err := transport.NewTransport(transport.Options{ExtraRoots: []*x509.Certificate{g.srv.Certificate()}})
	if err != nil {
		tb.Fatal(err)
	}
	g.hc = NewHTTPClient(tr)
	return g
}

// fuzzStatuses are the answers a read can meet without the retry handler
// sleeping on the wall clock (it retries 503/504) or the budget waiting
// out a 429.
var fuzzStatuses = []int{200, 200, 200, 400, 401, 403, 404, 500}

// FuzzReaderResponses sends arbitrary Graph answers to every read the
// agent makes: the raw collections (policies, named locations, sign-ins,
// What If), the SDK-parsed user and memberships (kiota's JSON parse
// nodes), and the beta per-user MFA requirement. No read may panic or
// hang; each returns either a value or a *graph.Error naming the tenant
// and the operation.
//
//	go test -run '^$' -fuzz '^FuzzReaderResponses$' -fuzztime 60s ./internal/graph/
func FuzzReaderResponses(f *testing.F) {
	for _, s := range []struct {
		status uint8
		body   string
	}{
		{0, `{"value":[{"id":"p1","displayName":"Require MFA","state":"enabled"}]}`},
		{0, `{"value":[{"id":"x"}],"@odata.nextLink":"{{BASE}}/v1.0/identity/conditionalAccess/policies?$skiptoken=1"}`},
		{0, `{"value":[],"@odata.nextLink":"https://evil.example/v1.0/x"}`},
		{0, `{"id":"u1","userPrincipalName":"svc@contoso.example","accountEnabled":true,"lastPasswordChangeDateTime":"2026-11-01T00:00:00Z"}`},
		{0, `{"id":"u1","accountEnabled":"yes","lastPasswordChangeDateTime":"yesterday"}`},
		{0, `{"value":[{"@odata.type":"#microsoft.graph.group","id":"g1"},{"@odata.type":"#microsoft.graph.directoryRole","roleTemplateId":"r1"},{"@odata.type":"#microsoft.graph.unknownFutureValue"}]}`},
		{0, `{"perUserMfaState":"enforced"}`},
		{0, `{"value":null}`},
		{0, `[1,2,3]`},
		{0, ``},
		{3, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges","innerError":{"date":"2026-11-27T10:00:00"}}}`},
		{6, `{"error":{"code":"Request_ResourceNotFound","message":"<script>alert(1)</script>"}}`},
		{4, `{"error":"invalid_token"}`},
		{7, `<html>oops</html>`},
	} {
		f.Add(s.status, []byte(s.body))
	}
	g := newFuzzGraph(f)
	// Pacing is the budget's business, not this target's: rates high enough
	// that no read waits.
	limits := Limits{CAPerSecond: 1e6, SignInsPerWindow: 1e6, SignInWindow: time.Second,
		DirectoryPerWindow: 1e6, DirectoryWindow: time.Second, MaxThrottleRetries: 1, MaxBackoff: time.Millisecond}
	tokens := TokenSourceFunc(func(context.Context, []string, string) (string, time.Time, error) {
		return "fuzz-access-token", time.Now().Add(time.Hour), nil
	})
	f.Fuzz(func(t *testing.T, statusIndex uint8, body []byte) {
		g.mu.Lock()
		g.status, g.body, g.served = fuzzStatuses[int(statusIndex)%len(fuzzStatuses)], body, map[string]bool{}
		g.mu.Unlock()
		r, err := NewReader(Config{TenantID: "fuzz-tenant", Tokens: tokens, HTTPClient: g.hc, GraphURL: g.srv.URL, Limits: limits})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		check := func(op string, err error) {
			if err == nil {
				return
			}
			var ge *Error
			if !errors.As(err, &ge) || ge.Tenant != "fuzz-tenant" || ge.Op == "" || ge.Error() == "" {
				t.Fatalf("%s: want a *graph.Error naming tenant and operation, got %T %v", op, err, err)
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: read hung until the deadline: %v", op, err)
			}
		}
		reads := []struct {
			op  string
			run func() error
		}{
			{"policies", func() error { _, err := r.Policies(ctx); return err }},
			{"namedLocations", func() error { _, err := r.NamedLocations(ctx); return err }},
			{"signIns", func() error { _, err := r.SignIns(ctx, SignInQuery{UserID: "u1"}); return err }},
			{"signIns beta", func() error { _, err := r.SignIns(ctx, SignInQuery{UserID: "u1", NonInteractive: true}); return err }},
			{"whatIf", func() error { _, err := r.WhatIf(ctx, json.RawMessage(`{}`)); return err }},
			{"user", func() error { _, err := r.User(ctx, "u1"); return err }},
			{"memberships", func() error { _, _, err := r.Memberships(ctx, "u1"); return err }},
			{"perUserMFA", func() error { _, err := r.PerUserMFAState(ctx, "u1"); return err }},
			{"passwordValidity", func() error { _, err := r.PasswordValidityDays(ctx); return err }},
		}
		for _, rd := range reads {
			check(rd.op, rd.run())
		}
	})
}
