package agent_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/tokenhealth/tokenhealth/internal/demo"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/policy"
)

// The What If second opinion: on agreement it adds nothing; when the local
// evaluation says the opposite of Microsoft's evaluator for a policy, that
// is a whatif_disagreement finding naming the policy.
func TestWhatIfSecondOpinion(t *testing.T) {
	env, err := demo.Setup(context.Background(), demo.Options{
		Dir: t.TempDir(), Speed: 600, Alerts: io.Discard, Progress: io.Discard, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Agent.Run(ctx) }()
	env.Start()
	defer func() { cancel(); <-done }()

	const fabrikam = "22222222-2222-4222-8222-222222222222"
	waitFor(t, "fabrikam's policies are read", func() bool {
		_, read, _ := env.Agent.Progress()
		pol, err := env.Agent.Policies(ctx, fabrikam)
		return read > 0 && err == nil && len(pol.Policies) > 0
	})
	same, err := env.Agent.SecondOpinion(ctx, fabrikam, func([]policy.Evaluation) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(same) != 0 {
		t.Fatalf("local evaluation and What If agree, yet findings: %+v", same)
	}
	flipped, err := env.Agent.SecondOpinion(ctx, fabrikam, func(evs []policy.Evaluation) {
		for i := range evs {
			if evs[i].Policy.DisplayName == "Sign-in frequency 7 days" {
				evs[i].Applies = policy.False
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(flipped) != 1 || flipped[0].Kind != health.KindWhatIfDisagreement ||
		len(flipped[0].Policies) != 1 || flipped[0].Policies[0].DisplayName != "Sign-in frequency 7 days" {
		t.Fatalf("disagreement findings = %+v", flipped)
	}
}
