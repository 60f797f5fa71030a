package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func runDiagnoseCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	code := dispatch(env, args)
	return code, out.String(), errb.String()
}

func diagnoseSample(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile("../../pkg/probe/testdata/diagnose/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestDiagnoseHumanOutput(t *testing.T) {
	code, out, errOut := runDiagnoseCLI(t, "", "diagnose", diagnoseSample(t, "70043_token_endpoint_body.json"))
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"Codes        AADSTS70043\n",
		"Cause        ca_sign_in_frequency\n",
		"Verdict      definitive: the token is dead; fix the cause, then re-enroll\n",
		"Error        invalid_grant (suberror token_expired)\n",
		"Explanation  The refresh token expired under a Conditional Access sign-in frequency limit",
		"43200 s (12 hours)",
		"Remediation  Exclude the service account",
		"Values       correlationId       a41d7e93-2b6c-4f0e-8d15-97c3e2b4f6a8\n",
		"             maxLifetimeSeconds  43200\n",
		"Lookup       https://login.microsoftonline.com/error?code=70043\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > termWidth {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
}

func TestDiagnoseJSONFromStdin(t *testing.T) {
	for _, args := range [][]string{{"diagnose", "--json"}, {"diagnose", "--json", "-"}, {"diagnose", "-", "--json"}} {
		code, out, _ := runDiagnoseCLI(t, diagnoseSample(t, "50173_password_azure_cli.txt"), args...)
		if code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		var got struct {
			Codes       []int             `json:"codes"`
			Cause       string            `json:"cause"`
			Definitive  bool              `json:"definitive"`
			Explanation string            `json:"explanation"`
			Remediation string            `json:"remediation"`
			Values      map[string]string `json:"values"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %v in %s", args, err, out)
		}
		if len(got.Codes) != 1 || got.Codes[0] != 50173 || got.Cause != "password_changed_or_reset" || !got.Definitive ||
			got.Explanation == "" || got.Remediation == "" || got.Values["tokensValidFrom"] != "2026-01-14T06:26:06.0000000Z" {
			t.Errorf("%v: %+v", args, got)
		}
	}
}

func TestDiagnoseNothingRecognised(t *testing.T) {
	code, out, _ := runDiagnoseCLI(t, "", "diagnose", "--json", "the", "sync", "finished", "fine")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(out, `"codes": []`) || !strings.Contains(out, `"values": {}`) || !strings.Contains(out, `"cause": "other"`) {
		t.Errorf("JSON must carry [] and {} rather than null: %s", out)
	}
	code, out, _ = runDiagnoseCLI(t, "", "diagnose", "hello")
	if code != 1 || !strings.Contains(out, "Verdict      nothing recognised") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestDiagnoseTransientAndPastedDashes(t *testing.T) {
	// Shell-split pasted text with words starting with '-' stays text.
	code, out, errOut := runDiagnoseCLI(t, "", "diagnose", "Post", `"https://login.microsoftonline.com/x/oauth2/v2.0/token":`,
		"context", "deadline", "exceeded", "-", "Code:", "-2146233088")
	if code != 0 || errOut != "" || !strings.Contains(out, "Cause        transient") || !strings.Contains(out, "network  timeout") {
		t.Errorf("exit %d, stderr %q:\n%s", code, errOut, out)
	}
}

func TestDiagnoseUsageErrors(t *testing.T) {
	if code, _, errOut := runDiagnoseCLI(t, "   \n", "diagnose"); code != 2 || !strings.Contains(errOut, "nothing to diagnose") {
		t.Errorf("empty stdin: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runDiagnoseCLI(t, "", "diagnose", "--bogus", "x"); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
	big := strings.Repeat("a", maxDiagnoseInput+1)
	if code, _, errOut := runDiagnoseCLI(t, big, "diagnose"); code != 2 || !strings.Contains(errOut, "larger than") {
		t.Errorf("oversized stdin: exit %d, stderr %q", code, errOut)
	}
}

func TestDiagnoseNeverPrintsCredentials(t *testing.T) {
	in := diagnoseSample(t, "credential_echo_no_leak.txt")
	for _, args := range [][]string{{"diagnose"}, {"diagnose", "--json"}} {
		_, out, errOut := runDiagnoseCLI(t, in, args...)
		for _, secret := range []string{"Xq48Q", "0.AXYA", "eyJ0eXAi"} {
			if strings.Contains(out+errOut, secret) {
				t.Errorf("%v printed %q:\n%s", args, secret, out)
			}
		}
	}
}
