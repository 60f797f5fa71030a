package policy

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func predictFixture(t *testing.T, mutate func(*Subject, *PredictInput)) Forecast {
	t.Helper()
	l := loadTestTenant(t)
	s := baseSubject()
	s.TokenHasMFA = true
	in := PredictInput{
		TenantID: "contoso-tid", TenantName: "Contoso",
		Clocks: Clocks{
			InteractiveSignIn: ts("2026-11-18T09:30:00Z"), InteractiveSignInSource: "enrollment",
			LastRedemption: ts("2026-11-20T11:00:00Z"), ClientType: "public",
			AuthFlow: FlowAuthorizationCode, TokenHasMFA: true,
			PlatformLastInteractive: ts("2026-11-15T08:00:00Z"),
		},
		Account: Account{UPN: svcUPN, ID: svcUserID, AccountEnabled: true,
			LastPasswordChange: ts("2026-09-01T00:00:00Z"), PerUserMFA: "disabled"},
		RememberMFADays: 14,
		Now:             ts("2026-11-20T12:00:00Z"),
	}
	if mutate != nil {
		mutate(&s, &in)
	}
	s.TokenHasMFA, s.AuthFlow = in.Clocks.TokenHasMFA, in.Clocks.AuthFlow
	in.Evaluations = Evaluate(l.Policies, l.Locations, s)
	return Predict(in)
}

type clockWant struct {
	clock   ClockName
	session string
	at      string
	effect  string
}

func clocksOf(f Forecast) []clockWant {
	var out []clockWant
	for _, c := range f.Clocks {
		out = append(out, clockWant{c.Clock, c.Session, c.At.UTC().Format(time.RFC3339), c.Effect})
	}
	return out
}

func TestPredictClockTimes(t *testing.T) {
	f := predictFixture(t, nil)
	want := []clockWant{
		{ClockPlatformSignInFrequency, "platform", "2026-11-22T08:00:00Z", EffectBreaksToken},
		{ClockSignInFrequency, "canary", "2026-11-25T09:30:00Z", EffectBreaksToken},
		{ClockPasswordExpiry, "canary", "2026-11-30T00:00:00Z", EffectBlocksReauthentication},
		{ClockRememberMFA, "canary", "2026-12-02T09:30:00Z", EffectBreaksToken},
		{ClockInactivity, "canary", "2027-02-18T11:00:00Z", EffectBreaksToken},
	}
	if got := clocksOf(f); !slices.Equal(got, want) {
		t.Fatalf("clocks:\n got %v\nwant %v", got, want)
	}
	if f.Earliest == nil || f.Earliest.Clock != ClockPlatformSignInFrequency {
		t.Fatalf("earliest = %+v", f.Earliest)
	}
	var kinds []health.Kind
	for _, fd := range f.Findings {
		kinds = append(kinds, fd.Kind)
	}
	if !slices.Equal(kinds, []health.Kind{health.KindPredictedBreak, health.KindReportOnlyRisk}) {
		t.Fatalf("finding kinds = %v", kinds)
	}
	pb := f.Findings[0]
	if !pb.PredictedAt.Equal(ts("2026-11-22T08:00:00Z")) || pb.Severity != health.SeverityWarning ||
		pb.Policies[0].DisplayName != "Sign-in frequency 7 days" || pb.Cause != "ca_sign_in_frequency" {
		t.Fatalf("predicted break = %+v", pb)
	}
	if pb.Summary != "Sign-in frequency of policy 'Sign-in frequency 7 days' breaks the platform's token at 2026-11-22T08:00:00Z (in 1d20h)" {
		t.Errorf("summary = %q", pb.Summary)
	}
	for _, want := range []string{
		"platform's last interactive sign-in at 2026-11-15T08:00:00Z (sign-in logs) + 7d = 2026-11-22T08:00:00Z",
		"client type: public. Sign-in frequency is enforced on the refresh itself (AADSTS70043)",
		"clock sign_in_frequency (canary) at 2026-11-25T09:30:00Z: breaks_token, policy 'Sign-in frequency 7 days'",
		"clock password_expiry (canary) at 2026-11-30T00:00:00Z: blocks_reauthentication",
		"policy 'Require password change for high-risk users' may also break the token (breaks_now if it applies): user risk condition (high) and the account's user risk is not known",
	} {
		if !slices.Contains(pb.Evidence, want) {
			t.Errorf("evidence lacks %q:\n%s", want, strings.Join(pb.Evidence, "\n"))
		}
	}
	if !strings.HasPrefix(pb.Remediation[0], "exclude "+svcUPN+" from policy 'Sign-in frequency 7 days': Entra admin center > Protection > Conditional Access > Policies > Sign-in frequency 7 days > Users > Exclude") {
		t.Errorf("remediation[0] = %q", pb.Remediation[0])
	}
	if !slices.Contains(pb.Remediation, RemediationRememberMFAWithSIF) {
		t.Errorf("remediation lacks remember-MFA: %q", pb.Remediation)
	}
	for _, c := range f.Clocks {
		if c.Clock == ClockRememberMFA && (len(c.Remediation) != 2 || c.Remediation[0] != RemediationRememberMFA ||
			c.Remediation[1] != "Plan an interactive re-enrollment with MFA before 2026-12-02T09:30:00Z") {
			t.Errorf("remember-MFA remediation = %q", c.Remediation)
		}
		if (c.Clock == ClockSignInFrequency || c.Clock == ClockPlatformSignInFrequency) && c.ClientType != "public" {
			t.Errorf("%s clock without client type", c.Clock)
		}
	}
	ro := f.Findings[1]
	if ro.Policies[0].ID != "a1f0c7d2-1111-4c4e-9a0b-000000000007" || ro.Severity != health.SeverityWarning ||
		!slices.Contains(ro.Evidence, "if enabled, the canary's sign-in frequency would expire at 2026-11-18T21:30:00Z") {
		t.Errorf("report-only finding = %+v", ro)
	}
	if !strings.HasPrefix(ro.Remediation[0], "Before this report-only policy is enabled: exclude ") {
		t.Errorf("report-only remediation = %q", ro.Remediation)
	}
}

func TestPredictBreaksNowAndConfidential(t *testing.T) {
	f := predictFixture(t, func(s *Subject, in *PredictInput) {
		in.Clocks.TokenHasMFA = false
		in.Clocks.AuthFlow = FlowDeviceCode
		in.Clocks.ClientType = "confidential"
		in.Clocks.PlatformLastInteractive = time.Time{}
		in.Account.LastPasswordChange = ts("2026-08-23T00:00:00Z") // expires 2026-11-21
		in.Account.PerUserMFA = "enforced"
		in.RememberMFADays = 0
	})
	var got []string
	for _, fd := range f.Findings {
		p := ""
		if len(fd.Policies) > 0 {
			p = fd.Policies[0].DisplayName
		}
		got = append(got, string(fd.Kind)+"|"+p+"|"+string(fd.Severity))
	}
	want := []string{
		"policy_breaks_now|Require MFA for all users|critical",
		"policy_breaks_now|Block device code flow|critical",
		"predicted_break||critical",
		"report_only_risk|Sign-in frequency 12 hours (report-only)|warning",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n got %q\nwant %q", got, want)
	}
	if f.Findings[0].Cause != "ca_mfa_required" || f.Findings[1].Cause != "ca_blocked" || f.Findings[3].Cause != "ca_sign_in_frequency" {
		t.Errorf("causes = %q %q %q", f.Findings[0].Cause, f.Findings[1].Cause, f.Findings[3].Cause)
	}
	pb := f.Findings[2]
	if pb.Cause != "per_user_mfa" || !pb.PredictedAt.Equal(ts("2026-11-20T12:00:00Z")) {
		t.Errorf("predicted break = %+v", pb)
	}
	dc := f.Findings[1]
	if !slices.Contains(dc.Remediation, RemediationUseAuthCode) || !slices.Contains(dc.Remediation, RemediationReenroll) {
		t.Errorf("device code remediation = %q", dc.Remediation)
	}
	// The canary SIF clock is still listed, with the confidential caveat and
	// the password expiring before it.
	var sif *ClockPrediction
	for i := range f.Clocks {
		if f.Clocks[i].Clock == ClockSignInFrequency {
			sif = &f.Clocks[i]
		}
	}
	if sif == nil || !sif.At.Equal(ts("2026-11-25T09:30:00Z")) {
		t.Fatalf("sif clock = %+v", sif)
	}
	if !slices.ContainsFunc(sif.Evidence, func(e string) bool { return strings.HasPrefix(e, "client type: confidential. Microsoft documents") }) {
		t.Errorf("no confidential-client caveat: %q", sif.Evidence)
	}
	if !slices.Contains(pb.Evidence, "remember-MFA days not stated in the configuration: its expiry cannot be predicted") {
		t.Errorf("missing remember-MFA note: %q", pb.Evidence)
	}
}

func TestPredictPasswordBeforeBreakAndNeverExpires(t *testing.T) {
	f := predictFixture(t, func(s *Subject, in *PredictInput) {
		in.Account.LastPasswordChange = ts("2026-08-23T00:00:00Z") // expires 2026-11-21T00:00:00Z
	})
	pb := f.Findings[0]
	if pb.Kind != health.KindPredictedBreak {
		t.Fatalf("first finding %v", pb.Kind)
	}
	if !slices.Contains(pb.Evidence, "the password expires before this break (2026-11-21T00:00:00Z), so the re-authentication it requires will fail with AADSTS50055") {
		t.Errorf("evidence = %q", pb.Evidence)
	}
	if !slices.ContainsFunc(pb.Remediation, func(r string) bool {
		return r == "Stop password expiry for "+svcUPN+": PATCH https://graph.microsoft.com/v1.0/users/"+svcUserID+` {"passwordPolicies":"DisablePasswordExpiration"} (Update-MgUser -PasswordPolicies DisablePasswordExpiration)`
	}) {
		t.Errorf("remediation = %q", pb.Remediation)
	}

	f = predictFixture(t, func(s *Subject, in *PredictInput) { in.Account.PasswordValidityDays = 2147483647 })
	for _, c := range f.Clocks {
		if c.Clock == ClockPasswordExpiry {
			t.Fatalf("never-expiring password produced a clock at %s", c.At)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		604800 * time.Second: "7d", 12 * time.Hour: "12h", 90 * time.Minute: "1h30m",
		0: "0m", -2 * time.Hour: "-2h", 44 * time.Hour: "1d20h",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestFindingsAreSanitised(t *testing.T) {
	evil := "Block\x1b[2J\x1b]0;owned\x07 all\u202e"
	f := Predict(PredictInput{TenantID: "t", Now: ts("2026-11-20T12:00:00Z"), Evaluations: []Evaluation{{
		Policy: health.PolicyRef{ID: "p", DisplayName: evil, State: StateEnabled}, Applies: True,
		Impact: ImpactBreaksNow, ImpactIfApplies: ImpactBreaksNow, Causes: []Cause{CauseBlock},
		Controls: []string{"block access"}, Reasons: []string{"location included: IP in named location '" + evil + "'"},
	}}})
	if len(f.Findings) != 1 {
		t.Fatalf("findings = %+v", f.Findings)
	}
	fd := f.Findings[0]
	all := fd.Summary + fd.Policies[0].DisplayName + strings.Join(fd.Evidence, "")
	if strings.ContainsAny(all, "\x1b\x07\u202e") {
		t.Fatalf("escape sequence survived: %q", all)
	}
	if fd.Summary != "Policy 'Block all' breaks the delegated token at its next refresh" {
		t.Errorf("summary = %q", fd.Summary)
	}
}

func TestPredictCanaryKeptAliveAndPasswordFinding(t *testing.T) {
	now := ts("2026-01-05T09:00:00Z")
	in := PredictInput{
		TenantID: "t", Now: now, CanaryKeptAlive: true,
		Clocks:  Clocks{InteractiveSignIn: now, LastRedemption: now},
		Account: Account{UPN: "svc@x.example", ID: "u1", AccountEnabled: true, LastPasswordChange: now.Add(-86 * 24 * time.Hour), PasswordValidityDays: 90},
	}
	f := Predict(in)
	if len(f.Findings) != 1 {
		t.Fatalf("want exactly the password finding, got %+v", f.Findings)
	}
	got := f.Findings[0]
	if got.Kind != health.KindPredictedBreak || got.Cause != findingCausePasswordExpired || !got.PredictedAt.Equal(now.Add(4*24*time.Hour)) {
		t.Fatalf("password finding = %+v", got)
	}
	in.CanaryKeptAlive = false
	in.Account.PasswordValidityDays = 2147483647
	f = Predict(in)
	if len(f.Findings) != 1 || f.Findings[0].Cause != findingCauseInactive {
		t.Fatalf("without a live canary the inactivity clock is the prediction, got %+v", f.Findings)
	}
}
