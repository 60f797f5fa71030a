package agent

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/graph"
)

// TestIdleReadersAreReleasedBetweenPasses: a tenant's Graph reader is
// dropped only when no pass uses it and its budget has refilled, so a
// fresh reader for the next pass can send nothing earlier than the old one.
func TestIdleReadersAreReleasedBetweenPasses(t *testing.T) {
	vc := clock.NewVirtual(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), 0)
	newReader := func() *graph.Reader {
		r, err := graph.NewReader(graph.Config{TenantID: "3c3c3c3c-0000-4000-8000-000000000001", Clock: vc,
			HTTPClient: graph.NewHTTPClient(http.DefaultTransport), GraphURL: "https://graph.microsoft.com",
			Tokens: graph.TokenSourceFunc(func(context.Context, []string, string) (string, time.Time, error) {
				return "", time.Time{}, nil
			})})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		name    string
		users   int
		spend   bool          // one CA read just went out
		elapsed time.Duration // since then
		kept    bool
	}{
		{"idle, unused", 0, false, 0, false},
		{"a pass is using it", 1, false, 0, true},
		{"CA budget not refilled", 0, true, time.Second, true},
		{"CA budget refilled", 0, true, 2 * time.Second, false},
	}
	for _, tc := range cases {
		r := newReader()
		if tc.spend {
			if err := r.Budget().Wait(context.Background(), graph.BucketCA); err != nil {
				t.Fatal(err)
			}
			vc.Advance(tc.elapsed)
		}
		tr := &tenantRuntime{reader: r, readerUsers: tc.users}
		releaseIdleReaderLocked(tr)
		if kept := tr.reader != nil; kept != tc.kept {
			t.Errorf("%s: reader kept = %v, want %v", tc.name, kept, tc.kept)
		}
	}
}
