package entrasim

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// msalPython is the client script: enroll by device code, force a refresh,
// then wait for a line on stdin (the test moves the virtual clock) and
// force another refresh. One JSON object per stage on stdout.
const msalPython = `
import json, sys, msal
cfg = json.loads(sys.argv[1])
app = msal.PublicClientApplication(cfg["client_id"], authority=cfg["authority"],
    verify=cfg["ca"], validate_authority=False, instance_discovery=False)
def pick(r):
    if r is None:
        return None
    return {k: r.get(k) for k in ("error", "error_codes", "error_description", "token_type", "scope")}
flow = app.initiate_device_flow(scopes=[cfg["scope"]])
if "user_code" not in flow:
    print(json.dumps({"stage": "initiate", "result": flow})); sys.exit(1)
res = app.acquire_token_by_device_flow(flow)
out = {"stage": "enroll", "result": pick(res), "oid": (res.get("id_token_claims") or {}).get("oid")}
print(json.dumps(out)); sys.stdout.flush()
acct = app.get_accounts()[0]
print(json.dumps({"stage": "refresh", "result": pick(app.acquire_token_silent_with_error([cfg["scope"]], account=acct, force_refresh=True))}))
sys.stdout.flush()
sys.stdin.readline()
print(json.dumps({"stage": "after", "result": pick(app.acquire_token_silent_with_error([cfg["scope"]], account=acct, force_refresh=True))}))
sys.stdout.flush()
`

// TestPythonMSAL runs Debian's python3-msal, a client nobody here wrote,
// through device code enrollment and a refresh, then past a one-day
// sign-in frequency, where it must receive 70043.
func TestPythonMSAL(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import msal").CombinedOutput(); err != nil {
		msg := "python3-msal is not importable by " + python + " (install it with: apt-get install -y python3-msal): " + string(out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// MSAL Python checks id_token nbf/exp against the wall clock (2 minutes
	// of skew), so the virtual clock starts at the real time here.
	s := startSimAt(t, testScenario(t, "", "policies:\n"+policyYAML("SIF 1 day", "enabled", "{includeUsers: [All]}", "",
		`{signInFrequency: {isEnabled: true, value: 1, type: days, authenticationType: primaryAndSecondaryAuthentication, frequencyInterval: timeBased}}`)), time.Now().UTC().Truncate(time.Second))
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := s.WriteCAFile(ca); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "client.py")
	if err := os.WriteFile(script, []byte(msalPython), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]string{
		"client_id": testApp, "authority": s.BaseURL() + "/" + testTenant, "ca": ca, "scope": graphScope,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, string(cfg))
	cmd.Stderr = os.Stderr
	// requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the
	// session's verify= (which MSAL sets), so point them at the CA too.
	cmd.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+ca, "CURL_CA_BUNDLE="+ca)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	type stage struct {
		Stage  string `json:"stage"`
		OID    string `json:"oid"`
		Result *struct {
			Error       string `json:"error"`
			ErrorCodes  []int  `json:"error_codes"`
			Description string `json:"error_description"`
			TokenType   string `json:"token_type"`
		} `json:"result"`
	}
	next := func(want string) stage {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("python client ended before stage %q: %v", want, lines.Err())
		}
		var st stage
		if err := json.Unmarshal(lines.Bytes(), &st); err != nil || st.Stage != want || st.Result == nil {
			t.Fatalf("stage %q: got %s", want, lines.Text())
		}
		return st
	}
	if st := next("enroll"); st.Result.TokenType != "Bearer" || st.OID != testUser {
		t.Fatalf("enrollment: %+v", st.Result)
	}
	if st := next("refresh"); st.Result.TokenType != "Bearer" {
		t.Fatalf("refresh: %+v", st.Result)
	}
	s.Advance(24*time.Hour + time.Minute)
	_, _ = stdin.Write([]byte("go\n"))
	st := next("after")
	if len(st.Result.ErrorCodes) != 1 || st.Result.ErrorCodes[0] != 70043 || st.Result.Error != "invalid_grant" {
		t.Fatalf("after the sign-in frequency: %+v, want invalid_grant [70043]", st.Result)
	}
	recs := s.Tenant(testTenant).SignIns(nil)
	if len(recs) != 3 || recs[0].Status.ErrorCode != 70043 || recs[2].SignInEventTypes[0] != "interactiveUser" {
		t.Errorf("sign-ins = %+v", recs)
	}
}
