package probe

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/entrasim"
	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/internal/store"
)

func TestEnrollDeviceCodeRecordsTheSignIn(t *testing.T) {
	tests := []struct {
		name       string
		tenant     string
		user       string
		wantSource string
	}{
		{"id_token carries auth_time", simTenant, simUser, SignInSourceAuthTime},
		{"no auth_time: enrollment time", simTenantNoAuth, simUserNoAuth, SignInSourceEnrollment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newSimEnv(t, false)
			env.clock.Advance(3 * time.Hour)
			rec := env.enrollDeviceCode(env.target(tt.tenant, tt.user))
			if rec.Method != AuthFlowDeviceCode || rec.ClientType != ClientPublic {
				t.Errorf("method/client = %s/%s, want deviceCode/public", rec.Method, rec.ClientType)
			}
			if !strings.HasSuffix(rec.HomeAccountID, "."+tt.tenant) {
				t.Errorf("home account id %q does not end with the tenant id", rec.HomeAccountID)
			}
			if !strings.EqualFold(rec.Username, tt.user) {
				t.Errorf("username %q, want %q", rec.Username, tt.user)
			}
			if rec.InteractiveSignInSource != tt.wantSource {
				t.Errorf("sign-in source %q, want %q", rec.InteractiveSignInSource, tt.wantSource)
			}
			want := simStart.Add(3 * time.Hour)
			if d := rec.InteractiveSignIn.Sub(want); d < -time.Minute || d > time.Minute {
				t.Errorf("interactive sign-in %s, want about %s (virtual time of the sign-in)", rec.InteractiveSignIn, want)
			}
			if rec.TokenHasMFA {
				t.Error("token without MFA recorded as carrying an MFA claim")
			}
			if len(rec.GrantedScopes) == 0 {
				t.Error("no granted scopes recorded")
			}
			stored, found, err := LoadEnrollment(env.db, tt.tenant)
			if err != nil || !found || stored.HomeAccountID != rec.HomeAccountID {
				t.Fatalf("stored enrollment = %+v, %v, %v", stored, found, err)
			}
			clocks, err := LoadClocks(env.db, tt.tenant)
			if err != nil {
				t.Fatal(err)
			}
			if clocks.AuthFlow != AuthFlowDeviceCode || !clocks.InteractiveSignIn.Equal(rec.InteractiveSignIn) ||
				!clocks.LastRedemption.Equal(rec.EnrolledAt) {
				t.Errorf("clocks = %+v, want deviceCode, sign-in %s, last redemption %s", clocks, rec.InteractiveSignIn, rec.EnrolledAt)
			}
		})
	}
}

func TestEnrollRefusesAnotherAccount(t *testing.T) {
	env := newSimEnv(t, false)
	tg := env.target(simTenant, "someone-else@canary.onmicrosoft.com")
	_, err := env.enroller().DeviceCode(context.Background(), tg, io.Discard)
	want := `signed in as "svc-sync@canary.onmicrosoft.com", but the tenant's service_account is "someone-else@canary.onmicrosoft.com"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	if blob, _ := env.db.LoadTokenCache(simTenant); blob != nil {
		t.Error("a refused enrollment stored a token cache")
	}
}

// followSignIn plays the browser: it opens the sign-in URL and returns the
// redirect the identity provider answers with.
func followSignIn(t *testing.T, hc *http.Client, signInURL string) string {
	t.Helper()
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(signInURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || loc == "" {
		t.Fatalf("authorize answered %d without a redirect", resp.StatusCode)
	}
	return loc
}

// TestEnrollAuthCodePasted runs the auth code flow with PKCE on the
// production host names (mode B): the operator pastes the redirect back,
// after first pasting a stale one from another sign-in.
func TestEnrollAuthCodePasted(t *testing.T) {
	env := newSimEnv(t, true)
	tg := env.target(simTenant, simUser)
	pr, pw := io.Pipe()
	var out bytes.Buffer
	opts := AuthCodeOptions{Out: &out, In: pr, OpenURL: func(u string) error {
		if !strings.Contains(u, "code_challenge_method=S256") || !strings.Contains(u, "state=") ||
			!strings.HasPrefix(u, "https://login.microsoftonline.com/"+simTenant+"/oauth2/v2.0/authorize?") {
			t.Errorf("sign-in URL lacks PKCE, state or the tenant authority: %s", u)
		}
		loc := followSignIn(t, env.http, u)
		if !strings.HasPrefix(loc, "https://login.microsoftonline.com/common/oauth2/nativeclient?") {
			t.Errorf("redirect to %s, want the native client URI", loc)
		}
		go func() {
			io.WriteString(pw, "https://login.microsoftonline.com/common/oauth2/nativeclient?code=old&state=stale\n")
			io.WriteString(pw, loc+"\n")
		}()
		return nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := env.enroller().AuthCode(ctx, tg, opts)
	if err != nil {
		t.Fatalf("auth code enrollment: %v\n%s", err, out.String())
	}
	if rec.Method != AuthFlowAuthCode || rec.InteractiveSignInSource != SignInSourceAuthTime {
		t.Errorf("record = %+v, want authorizationCode with auth_time", rec)
	}
	if !strings.Contains(out.String(), errStateMismatch.Error()) {
		t.Errorf("the stale redirect was not reported; output:\n%s", out.String())
	}
	res := env.prober.Probe(ctx, tg)
	if res.Outcome != OutcomeOK || res.TokenSource != TokenSourceIdP {
		t.Fatalf("probe after auth code enrollment: %+v", res)
	}
}

// TestEnrollAuthCodeListen receives the redirect on a loopback listener.
func TestEnrollAuthCodeListen(t *testing.T) {
	env := newSimEnv(t, false)
	tg := env.target(simTenant, simUser)
	var out bytes.Buffer
	opts := AuthCodeOptions{Out: &out, Listen: "127.0.0.1:0", OpenURL: func(u string) error {
		loc := followSignIn(t, env.http, u)
		if !strings.HasPrefix(loc, "http://127.0.0.1:") {
			t.Errorf("redirect to %s, want the loopback listener", loc)
		}
		go func() {
			resp, err := http.Get(loc)
			if err != nil {
				t.Errorf("browser redirect: %v", err)
				return
			}
			resp.Body.Close()
		}()
		return nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := env.enroller().AuthCode(ctx, tg, opts)
	if err != nil {
		t.Fatalf("auth code enrollment: %v\n%s", err, out.String())
	}
	if rec.Method != AuthFlowAuthCode {
		t.Errorf("method %s", rec.Method)
	}
}

func TestEnrollListenRefusesNonLoopback(t *testing.T) {
	_, err := listenLoopback("0.0.0.0:8400")
	if err == nil || err.Error() != `--listen "0.0.0.0:8400": must be a loopback address such as 127.0.0.1:8400` {
		t.Fatalf("err = %v", err)
	}
}

func TestEnrollConfidentialClient(t *testing.T) {
	env := newSimEnv(t, false)
	tg := env.target(simTenant, simUser)
	tg.ClientAppID, tg.ClientType = simConfApp, ClientConfidential
	tg.Credential = Credential{Secret: secret.New(simSecret)}
	if _, err := env.enroller().DeviceCode(context.Background(), tg, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "the device code flow needs a public client") {
		t.Fatalf("device code with a confidential client: %v", err)
	}
	pr, pw := io.Pipe()
	opts := AuthCodeOptions{Out: io.Discard, In: pr, OpenURL: func(u string) error {
		loc := followSignIn(t, env.http, u)
		go io.WriteString(pw, loc+"\n")
		return nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := env.enroller().AuthCode(ctx, tg, opts)
	if err != nil {
		t.Fatalf("confidential enrollment: %v", err)
	}
	if rec.ClientType != ClientConfidential {
		t.Errorf("client type %s", rec.ClientType)
	}
	if res := env.prober.Probe(ctx, tg); res.Outcome != OutcomeOK {
		t.Fatalf("confidential probe: %+v", res)
	}
	// A wrong secret is the platform's problem, not the token's: definitive,
	// and the secret never appears in what is recorded.
	tg.Credential = Credential{Secret: secret.New("wrong-secret-value")}
	res := env.prober.Probe(ctx, tg)
	if res.Outcome != OutcomeDefinitive || res.Diagnosis.Cause != CauseInvalidClientCredentials {
		t.Fatalf("wrong secret: outcome %s cause %s (%s)", res.Outcome, res.Diagnosis.Cause, res.Message)
	}
	hist, err := env.db.ProbeHistory(simTenant, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range hist {
		if dump := a.Message + a.Error + strings.Join(mapValues(a.Values), " "); strings.Contains(dump, "wrong-secret-value") || strings.Contains(dump, simSecret) {
			t.Fatal("a client secret reached the probe history")
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestReenrollReplacesTokenAndClearsFailure: a dead token, re-enrolled,
// is replaced wholesale and the failure state is gone.
func TestReenrollReplacesTokenAndClearsFailure(t *testing.T) {
	env := newSimEnv(t, false)
	tg := env.target(simTenant, simUser)
	env.enrollDeviceCode(tg)
	env.clock.Advance(time.Hour)
	if err := env.sim.Tenant(simTenant).ChangePassword(simUser, env.clock.Now()); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(time.Minute)
	ctx := context.Background()
	if res := env.prober.Probe(ctx, tg); res.Outcome != OutcomeDefinitive {
		t.Fatalf("after password change: %+v", res)
	}
	oldRT := env.refreshTokenSecret(simTenant)
	env.clock.Advance(time.Minute)
	env.enrollDeviceCode(tg)
	if env.refreshTokenSecret(simTenant) == oldRT {
		t.Error("re-enrollment kept the old refresh token")
	}
	ps, err := LoadProbeState(env.db, simTenant)
	if err != nil {
		t.Fatal(err)
	}
	if ps.LastOutcome != "" {
		t.Errorf("probe state after re-enrollment = %+v, want cleared", ps)
	}
	if res := env.prober.Probe(ctx, tg); res.Outcome != OutcomeOK {
		t.Fatalf("probe after re-enrollment: %+v", res)
	}
	specs, err := WithStoredStates(env.db, []Spec{{Target: tg}})
	if err != nil || specs[0].Initial != StateHealthy {
		t.Errorf("restored state %v, %v; want healthy", specs, err)
	}
	if _, err := env.db.GetJSON(store.BucketTenants, enrollmentKey(simTenant), new(Enrollment)); err != nil {
		t.Fatal(err)
	}
}

// writeCertificate creates a self-signed RSA certificate and its key as
// PEM files, as an operator would give them in client_certificate_file and
// client_key_file.
func writeCertificate(t *testing.T) (certFile, keyFile, certPEM string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tokenhealth canary"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	certFile, keyFile = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	must(t, os.WriteFile(certFile, []byte(certPEM), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600))
	return certFile, keyFile, certPEM
}

func TestEnrollConfidentialClientWithCertificate(t *testing.T) {
	env := newSimEnv(t, false)
	certFile, keyFile, certPEM := writeCertificate(t)
	must(t, env.sim.Tenant(simTenant).Update(func(st *entrasim.TenantState) error {
		app := st.Apps[simConfApp]
		app.CertPEMs = append(app.CertPEMs, certPEM)
		return nil
	}))
	tg := env.target(simTenant, simUser)
	tg.ClientAppID, tg.ClientType = simConfApp, ClientConfidential
	tg.Credential = Credential{CertificateFile: certFile, KeyFile: keyFile}
	pr, pw := io.Pipe()
	opts := AuthCodeOptions{Out: io.Discard, In: pr, OpenURL: func(u string) error {
		loc := followSignIn(t, env.http, u)
		go io.WriteString(pw, loc+"\n")
		return nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := env.enroller().AuthCode(ctx, tg, opts); err != nil {
		t.Fatalf("enrollment with a certificate: %v", err)
	}
	if res := env.prober.Probe(ctx, tg); res.Outcome != OutcomeOK {
		t.Fatalf("probe with a certificate: %+v", res)
	}

	tg.Credential.KeyFile = filepath.Join(t.TempDir(), "missing.key")
	if _, err := NewClient(tg, env.db, env.http); err == nil || !strings.Contains(err.Error(), "client key: open ") {
		t.Fatalf("missing key file: %v", err)
	}
}

// TestEnrollRecordsMFAClaim: a sign-in with MFA is recorded as such, and
// that token then survives per-user MFA being turned on.
func TestEnrollRecordsMFAClaim(t *testing.T) {
	env := newSimEnv(t, false)
	must(t, env.sim.Tenant(simTenant).Update(func(st *entrasim.TenantState) error {
		st.Options.InteractiveMFA = true
		return nil
	}))
	tg := env.target(simTenant, simUser)
	rec := env.enrollDeviceCode(tg)
	if !rec.TokenHasMFA {
		t.Fatal("MFA sign-in recorded without an MFA claim")
	}
	env.clock.Advance(time.Minute)
	must(t, env.sim.Tenant(simTenant).SetPerUserMFA(simUser, entrasim.PerUserMFAEnforced))
	env.clock.Advance(time.Minute)
	if res := env.prober.Probe(context.Background(), tg); res.Outcome != OutcomeOK {
		t.Fatalf("a token with an MFA claim failed after per-user MFA was enforced: %s", res.Message)
	}
}
