package notify

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// An announced "policy breaks the token" alert is inhibited once the
// token's failure is attributed to that policy. Chat and mail hear nothing
// more about it (no false "resolved"); Alertmanager must keep getting it
// re-sent, or it resolves the alert by itself at endsAt and tells its
// receivers so. A silence, by contrast, stops the re-sends too.
func TestInhibitedAlertStaysAliveInAlertmanagerOnly(t *testing.T) {
	for _, silence := range []bool{false, true} {
		name := map[bool]string{false: "inhibited by the failing token", true: "silenced as well"}[silence]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, []string{"am", "chat"}, func(o *Options) {
				o.Receivers[0].Delivery = PerAlert
				o.ResendInterval = 5 * time.Minute
			})
			breaks := finding("t1", health.KindPolicyBreaksNow, health.SeverityCritical, "p")
			h.eval("t1", breaks)
			h.step(time.Minute)
			h.recv["am"].reset()
			h.recv["chat"].reset()

			failing := finding("t1", health.KindTokenFailing, health.SeverityCritical, "p")
			if silence {
				sils := &SilenceDB{DB: h.db, Clock: h.clk}
				req := SilenceRequest{TenantID: "t1", Kind: health.KindPolicyBreaksNow, For: 2 * time.Hour, Reason: "known"}
				if _, err := sils.AddSilence(context.Background(), req); err != nil {
					t.Fatal(err)
				}
			}
			h.eval("t1", breaks, failing)
			for range 15 {
				h.eval("t1", breaks, failing)
				h.step(time.Minute)
			}

			var amBreaks []string
			for _, m := range h.recv["am"].messages() {
				if m.Kind == health.KindPolicyBreaksNow {
					amBreaks = append(amBreaks, string(m.Status)+"/"+string(m.Reason))
				}
			}
			want := []string{"firing/repeat", "firing/repeat", "firing/repeat"} // every 5 of 15 minutes
			if silence {
				want = nil
			}
			if !slices.Equal(amBreaks, want) {
				t.Errorf("Alertmanager got %q about the inhibited alert, want %q", amBreaks, want)
			}
			if got, want := summary(h.recv["chat"].messages()), []string{"firing/new/critical token_failing [t1]"}; !slices.Equal(got, want) {
				t.Errorf("chat got %q, want only %q", got, want)
			}
		})
	}
}
