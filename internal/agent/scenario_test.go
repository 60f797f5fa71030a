package agent_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/demo"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// TestDemoScenarioFindings runs the real agent on the demo tenants over
// two virtual days and checks what an administrator would be told, and
// when: predictions at the exact times the clocks give, a drift finding
// before the break it announces, and failures attributed to the policy
// through the sign-in log.
func TestDemoScenarioFindings(t *testing.T) {
	if testing.Short() {
		t.Skip("two virtual days of the demo scenario")
	}
	env, err := demo.Setup(context.Background(), demo.Options{
		Dir: t.TempDir(), Speed: 3600, Alerts: io.Discard, Progress: io.Discard, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	start := env.Clock.Now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Agent.Run(ctx) }()
	env.Start()
	defer func() { cancel(); <-done }()

	const (
		fabrikam  = "22222222-2222-4222-8222-222222222222"
		northwind = "33333333-3333-4333-8333-333333333333"
		woodgrove = "55555555-5555-4555-8555-555555555555"
		adatum    = "66666666-6666-4666-8666-666666666666"
	)
	tenant := func(id string) health.TenantStatus {
		for _, ts := range env.Agent.Status(ctx).Tenants {
			if ts.ID == id {
				return ts
			}
		}
		t.Fatalf("tenant %s missing from status", id)
		return health.TenantStatus{}
	}
	find := func(id string, kind health.Kind, policy string) *health.Finding {
		for _, f := range tenant(id).Findings {
			if f.Kind == kind && (policy == "" || (len(f.Policies) > 0 && f.Policies[0].DisplayName == policy)) {
				return &f
			}
		}
		return nil
	}
	wait := func(what string, limit time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for time.Now().Before(deadline) {
			if cond() {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s (virtual time %s)", what, env.Clock.Now().Sub(start))
	}

	// Fabrikam: the 7-day limit counted from a sign-in 5 days before start.
	wait("fabrikam's prediction", 30*time.Second, func() bool {
		return find(fabrikam, health.KindPredictedBreak, "Sign-in frequency 7 days") != nil
	})
	pb := find(fabrikam, health.KindPredictedBreak, "Sign-in frequency 7 days")
	if want := start.Add(48 * time.Hour); !pb.PredictedAt.Equal(want) || pb.Cause != "ca_sign_in_frequency" {
		t.Errorf("fabrikam predicted break at %s (%s), want %s", pb.PredictedAt, pb.Cause, want)
	}
	if find(fabrikam, health.KindReportOnlyRisk, "Report-only: require MFA for all users") == nil {
		t.Error("fabrikam's report-only MFA policy is not reported as a risk")
	}

	// Woodgrove: the password changed 86 days before start, 90-day validity.
	wait("woodgrove's password expiry", 30*time.Second, func() bool {
		f := find(woodgrove, health.KindPredictedBreak, "")
		return f != nil && f.Cause == "password_expired"
	})
	if f := find(woodgrove, health.KindPredictedBreak, ""); !f.PredictedAt.Equal(start.Add(4 * 24 * time.Hour)) {
		t.Errorf("woodgrove password expiry predicted at %s, want %s", f.PredictedAt, start.Add(96*time.Hour))
	}

	// Northwind: every-time reauthentication breaks the first refresh
	// after five minutes; the failure names the policy.
	wait("northwind failing", 60*time.Second, func() bool { return tenant(northwind).State == health.StateFailing })
	// The attribution follows from the policy pass that the failure starts.
	wait("northwind's failure attributed to its policy", 60*time.Second, func() bool {
		return find(northwind, health.KindTokenFailing, "Reauthenticate every time") != nil
	})

	// Adatum: the 48-hour policy added at +36 h is drift, seen before the
	// token breaks at +48 h, with a prediction at exactly +48 h.
	const adatumPolicy = "Sign-in frequency 48 hours for sync accounts"
	wait("adatum's drift finding", 90*time.Second, func() bool {
		return find(adatum, health.KindPolicyDrift, adatumPolicy) != nil
	})
	drift := find(adatum, health.KindPolicyDrift, adatumPolicy)
	if !drift.DetectedAt.Before(start.Add(48*time.Hour)) || tenant(adatum).State == health.StateFailing {
		t.Errorf("drift detected at +%s with the tenant %s: want it before the break at +48h",
			drift.DetectedAt.Sub(start), tenant(adatum).State)
	}
	if f := find(adatum, health.KindPredictedBreak, adatumPolicy); f == nil || !f.PredictedAt.Equal(start.Add(48*time.Hour)) {
		t.Errorf("adatum's predicted break: %+v", f)
	}
	// Around the break, slow time down: at an hour per second a loaded
	// machine's scheduling delays are virtual hours, longer than the
	// access token that still reads the sign-in log after the failure.
	wait("the hour before adatum's break", 90*time.Second, func() bool { return env.Clock.Now().After(start.Add(47 * time.Hour)) })
	env.Clock.SetSpeed(300)
	wait("adatum failing", 90*time.Second, func() bool { return tenant(adatum).State == health.StateFailing })
	f := find(adatum, health.KindTokenFailing, adatumPolicy)
	if f == nil || f.Cause != "ca_sign_in_frequency" {
		t.Fatalf("adatum's failure: %+v", tenant(adatum).Findings)
	}
	wait("adatum's failure attributed through the sign-in log", 30*time.Second, func() bool {
		f := find(adatum, health.KindTokenFailing, adatumPolicy)
		return f != nil && slices.ContainsFunc(f.Evidence, func(e string) bool { return strings.Contains(e, "attributed from: sign_in_log") })
	})
}
