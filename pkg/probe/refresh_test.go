package probe

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
)

func TestProbeRedeemsTheRefreshTokenEveryTime(t *testing.T) {
	for _, prod := range []bool{false, true} {
		name := map[bool]string{false: "127.0.0.1 authority", true: "production host names"}[prod]
		t.Run(name, func(t *testing.T) {
			env := newSimEnv(t, prod)
			tg := env.target(simTenant, simUser)
			rec := env.enrollDeviceCode(tg)
			ctx := context.Background()
			before := env.nonInteractiveSignIns(simTenant, simUser)
			for i := range 3 {
				rt := env.refreshTokenSecret(simTenant)
				env.clock.Advance(10 * time.Minute) // the cached access token is still valid
				res := env.prober.Probe(ctx, tg)
				if res.Outcome != OutcomeOK || res.TokenSource != TokenSourceIdP {
					t.Fatalf("probe %d: outcome %s source %s: %s", i, res.Outcome, res.TokenSource, res.Message)
				}
				if env.refreshTokenSecret(simTenant) == rt {
					t.Errorf("probe %d: the refresh token did not rotate, so it was not redeemed", i)
				}
				if !res.AccessTokenExpiry.After(env.clock.Now()) {
					t.Errorf("probe %d: access token expiry %s is not in the future", i, res.AccessTokenExpiry)
				}
				if !res.Clocks.LastRedemption.Equal(res.Time) || !res.Clocks.InteractiveSignIn.Equal(rec.InteractiveSignIn) {
					t.Errorf("probe %d: clocks %+v: inactivity must restart at the probe, sign-in frequency must not", i, res.Clocks)
				}
			}
			if got := env.nonInteractiveSignIns(simTenant, simUser) - before; got != 3 {
				t.Errorf("simulator logged %d refresh-token redemptions for 3 probes", got)
			}
			hist, err := env.db.ProbeHistory(simTenant, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != 3 || hist[0].Outcome != "ok" || hist[0].TokenSource != TokenSourceIdP || hist[0].LatencyMS <= 0 {
				t.Fatalf("history = %+v", hist)
			}
		})
	}
}

func TestProbeNotEnrolled(t *testing.T) {
	env := newSimEnv(t, false)
	res := env.prober.Probe(context.Background(), env.target(simTenant, simUser))
	if !res.NotEnrolled || res.Message != "not enrolled: run 'tokenhealth enroll "+simTenant+"'" {
		t.Fatalf("result = %+v", res)
	}
	if hist, _ := env.db.ProbeHistory(simTenant, 0); len(hist) != 0 {
		t.Errorf("a probe of a tenant without a token was recorded: %+v", hist)
	}
}

// blockDeviceCodePolicy blocks the device code flow for everyone: a
// session that began with device code stays protocol tracked, so even its
// refreshes are blocked.
const blockDeviceCodePolicy = `{"displayName":"Block device code flow","state":"enabled",
 "conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},
  "clientAppTypes":["all"],"authenticationFlows":{"transferMethods":"deviceCodeFlow"}},
 "grantControls":{"operator":"OR","builtInControls":["block"]}}`

const signInFrequency12h = `{"displayName":"Sign-in frequency 12 hours","state":"enabled",
 "conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},
 "sessionControls":{"signInFrequency":{"isEnabled":true,"value":12,"type":"hours",
  "authenticationType":"primaryAndSecondaryAuthentication","frequencyInterval":"timeBased"}}}`

// TestProbeDiagnosesWhatBrokeTheToken breaks the token in each way a tenant
// can and checks the verdict, with the real MSAL client end to end.
func TestProbeDiagnosesWhatBrokeTheToken(t *testing.T) {
	tests := []struct {
		name       string
		breakIt    func(t *testing.T, env *simEnv)
		wantCauses []Cause // the first is expected unless the body says otherwise
		check      func(t *testing.T, res Result)
	}{
		{
			name: "sign-in frequency 12 h passed",
			breakIt: func(t *testing.T, env *simEnv) {
				addPolicy(t, env, signInFrequency12h)
				env.clock.Advance(13 * time.Hour)
			},
			wantCauses: []Cause{CauseSignInFrequency},
			check: func(t *testing.T, res Result) {
				if res.Diagnosis.Values[ValueMaxLifetimeSeconds] != "43200" {
					t.Errorf("limit = %q, want 43200", res.Diagnosis.Values[ValueMaxLifetimeSeconds])
				}
				if res.Diagnosis.Values[ValueIssuedAt] == "" {
					t.Error("the issue time the 70043 carries was not extracted")
				}
				if res.Clocks.InteractiveSignInSource != SignInSourceAuthTime {
					t.Errorf("sign-in clock source %q", res.Clocks.InteractiveSignInSource)
				}
			},
		},
		{
			name: "password changed",
			breakIt: func(t *testing.T, env *simEnv) {
				must(t, env.sim.Tenant(simTenant).ChangePassword(simUser, env.clock.Now()))
			},
			wantCauses: []Cause{CausePasswordChanged},
			check:      wantTokensValidFrom,
		},
		{
			name: "sessions revoked",
			breakIt: func(t *testing.T, env *simEnv) {
				must(t, env.sim.Tenant(simTenant).RevokeSessions(simUser, env.clock.Now()))
			},
			wantCauses: []Cause{CauseTokenRevoked, CausePasswordChanged},
			check:      wantTokensValidFrom,
		},
		{
			name: "account disabled",
			breakIt: func(t *testing.T, env *simEnv) {
				must(t, env.sim.Tenant(simTenant).SetAccountEnabled(simUser, false))
			},
			wantCauses: []Cause{CauseAccountDisabled},
		},
		{
			name: "per-user MFA turned on",
			breakIt: func(t *testing.T, env *simEnv) {
				must(t, env.sim.Tenant(simTenant).SetPerUserMFA(simUser, entrasim.PerUserMFAEnabled))
			},
			wantCauses: []Cause{CauseMFARequired},
		},
		{
			name: "probe paused 91 days",
			breakIt: func(t *testing.T, env *simEnv) {
				env.clock.Advance(91 * 24 * time.Hour)
			},
			wantCauses: []Cause{CauseRefreshTokenInactive},
		},
		{
			name: "device code flow blocked after a device code enrollment",
			breakIt: func(t *testing.T, env *simEnv) {
				addPolicy(t, env, blockDeviceCodePolicy)
			},
			wantCauses: []Cause{CauseCABlocked},
			check: func(t *testing.T, res Result) {
				text := strings.ToLower(res.Diagnosis.Explanation + " " + res.Diagnosis.Remediation)
				if !strings.Contains(text, "device code") {
					t.Errorf("explanation does not mention the device code flow:\n%s\n%s", res.Diagnosis.Explanation, res.Diagnosis.Remediation)
				}
				if !strings.Contains(text, "authorization code") && !strings.Contains(text, "--auth-code") {
					t.Errorf("remediation does not point to the authorization code flow:\n%s", res.Diagnosis.Remediation)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newSimEnv(t, false)
			tg := env.target(simTenant, simUser)
			env.enrollDeviceCode(tg)
			ctx := context.Background()
			if res := env.prober.Probe(ctx, tg); res.Outcome != OutcomeOK {
				t.Fatalf("healthy probe: %+v", res)
			}
			env.clock.Advance(time.Minute)
			tt.breakIt(t, env)
			env.clock.Advance(time.Minute)
			res := env.prober.Probe(ctx, tg)
			if res.Outcome != OutcomeDefinitive {
				t.Fatalf("outcome %s (%s), want definitive", res.Outcome, res.Message)
			}
			if !contains(tt.wantCauses, res.Diagnosis.Cause) {
				t.Fatalf("cause %s, want one of %v; codes %v: %s", res.Diagnosis.Cause, tt.wantCauses, res.Diagnosis.Codes, res.Message)
			}
			if len(res.Diagnosis.Codes) == 0 || res.Diagnosis.Error == "" {
				t.Errorf("no AADSTS code or OAuth error recorded: %+v", res.Diagnosis)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
			hist, err := env.db.ProbeHistory(simTenant, 1)
			if err != nil || len(hist) != 1 {
				t.Fatalf("history: %v %v", hist, err)
			}
			a := hist[0]
			if a.Outcome != "definitive" || a.Cause != string(res.Diagnosis.Cause) || len(a.Codes) == 0 ||
				a.TraceID == "" || a.CorrelationID == "" {
				t.Errorf("recorded attempt lacks its diagnosis: %+v", a)
			}
			raw, _ := json.Marshal(a)
			if strings.Contains(string(raw), env.refreshTokenSecret(simTenant)) {
				t.Error("the refresh token reached the probe history")
			}
		})
	}
}

// wantTokensValidFrom: a 50173 body carries the user's TokensValidFrom,
// which moved to the (virtual) time of the change, one minute after the
// healthy probe at the start.
func wantTokensValidFrom(t *testing.T, res Result) {
	t.Helper()
	v := res.Diagnosis.Values[ValueTokensValidFrom]
	at, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		t.Fatalf("tokensValidFrom %q: %v", v, err)
	}
	if want := res.Time.Add(-time.Minute); !at.Equal(want) {
		t.Errorf("tokensValidFrom %s, want %s", at, want)
	}
}

func addPolicy(t *testing.T, env *simEnv, raw string) {
	t.Helper()
	if _, err := env.sim.Tenant(simTenant).AddPolicy(json.RawMessage(raw)); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestProbeFaultsAreNeverDefinitive: throttling, server errors, hangs and
// connection resets on 30% of token requests never produce a definitive
// verdict, and healthy attempts still get through.
func TestProbeFaultsAreNeverDefinitive(t *testing.T) {
	env := newSimEnv(t, false)
	tg := env.target(simTenant, simUser)
	env.enrollDeviceCode(tg)
	env.prober.opts.Timeout = 400 * time.Millisecond // hangs end quickly
	env.sim.Faults().Set(entrasim.ClassToken, entrasim.FaultSpec{
		ThrottleRate: 0.08, RetryAfter: 1, ErrorRate: 0.08, ErrorStatus: 503, TimeoutRate: 0.07, ResetRate: 0.07,
	})
	counts := map[Outcome]int{}
	for i := range 60 {
		env.clock.Advance(5 * time.Minute)
		res := env.prober.Probe(context.Background(), tg)
		counts[res.Outcome]++
		if res.Outcome == OutcomeDefinitive {
			t.Fatalf("probe %d: definitive verdict %s from an injected fault: %s", i, res.Diagnosis.Cause, res.Message)
		}
		if res.Outcome == OutcomeTransient && res.Diagnosis.Cause != CauseTransient {
			t.Errorf("probe %d: transient outcome with cause %s: %s", i, res.Diagnosis.Cause, res.Message)
		}
	}
	if counts[OutcomeTransient] == 0 || counts[OutcomeOK] == 0 {
		t.Fatalf("outcomes %v: want both transient and ok", counts)
	}
	t.Logf("outcomes with 30%% faults: %v", counts)
}
