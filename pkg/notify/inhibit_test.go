package notify

import (
	"slices"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// A tenant whose token starts failing because of policy P: the earlier
// "P breaks the token" alert is muted, not resolved, and the new
// token_failing alert is the only message. Other policies keep alerting.
func TestFailingTokenInhibitsItsPredictionsWithoutResolving(t *testing.T) {
	h := newHarness(t, []string{"ops"}, nil)
	breaks := finding("t1", health.KindPolicyBreaksNow, health.SeverityCritical, "P")
	other := finding("t1", health.KindPolicyBreaksNow, health.SeverityCritical, "Q")
	h.eval("t1", breaks, other)
	h.step(2 * time.Minute)
	h.recv["ops"].reset()

	failing := finding("t1", health.KindTokenFailing, health.SeverityCritical, "P")
	prediction := finding("t1", health.KindPredictedBreak, health.SeverityCritical, "P")
	prediction.PredictedAt = t0
	h.eval("t1", breaks, other, failing, prediction)
	h.step(2 * time.Minute)
	got := summary(h.recv["ops"].messages())
	want := []string{"firing/new/critical token_failing [t1]"}
	if !slices.Equal(got, want) {
		t.Fatalf("messages = %v, want %v", got, want)
	}

	// The token recovers (re-enrolled) but P still breaks it: P's alert is
	// already announced and stays firing, so only token_failing resolves.
	h.recv["ops"].reset()
	h.eval("t1", breaks, other)
	h.step(2 * time.Minute)
	got = summary(h.recv["ops"].messages())
	want = []string{"resolved/resolved/critical token_failing [t1]"}
	if !slices.Equal(got, want) {
		t.Fatalf("after recovery messages = %v, want %v", got, want)
	}
}
