package graph

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/transport"
)

// An endless Graph answer (a broken proxy, a hostile endpoint) ends in a
// *graph.Error naming the operation and the cap, after at most the cap is
// read, instead of kiota buffering it until the daemon runs out of memory.
func TestEndlessAnswerIsBounded(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value":[`))
		chunk := []byte(strings.Repeat(`{"id":"p"},`, 4096))
		for r.Context().Err() == nil {
			_, err := w.Write(chunk)
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	tr, err := transport.NewTransport(transport.Options{ExtraRoots: []*x509.Certificate{srv.Certificate()}})
	if err != nil {
		t.Fatal(err)
	}
	tokens := TokenSourceFunc(func(context.Context, []string, string) (string, time.Time, error) {
		return "tok", time.Now().Add(time.Hour), nil
	})
	r, err := NewReader(Config{TenantID: "t1", Tokens: tokens, HTTPClient: NewHTTPClient(tr), GraphURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = r.Policies(ctx)
	var ge *Error
	if !errors.As(err, &ge) || ge.Op == "" || ge.Tenant != "t1" {
		t.Fatalf("err = %T %v, want a *graph.Error", err, err)
	}
	if !errors.Is(err, transport.ErrResponseTooLarge) {
		t.Fatalf("err = %v, want it to wrap transport.ErrResponseTooLarge", err)
	}
	if !strings.Contains(err.Error(), "exceeds the 16 MiB limit") {
		t.Fatalf("message %q does not name the limit", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the read ran until the deadline instead of stopping at the cap")
	}
}
