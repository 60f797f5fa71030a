package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

const (
	polTestdata = "../../pkg/policy/testdata/"
	polSvcID    = "5d1a9f0e-3c2b-4a7d-9e61-2f8b7c4d1a90"
)

func runPoliciesCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := dispatch(&cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, append([]string{"policies"}, args...))
	return code, out.String(), errb.String()
}

func TestPoliciesAnalyzeJSON(t *testing.T) {
	code, out, stderr := runPoliciesCLI("analyze", "--json", "--user-id", polSvcID, "--upn", "svc-sync@contoso.onmicrosoft.com",
		"--group-id", "0b7c0c2e-7e2a-4f43-9b4f-6a1f4d2e8c11", "--role-template-id", "none", "--ip", "198.51.100.7",
		"--country", "de", "--auth-flow", "devicecode", "--named-locations", polTestdata+"namedLocations.json",
		polTestdata+"policies", polTestdata+"exports")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	for _, want := range []string{
		"skipped ../../pkg/policy/testdata/exports/organization.json: not a Conditional Access policy",
		"skipped ../../pkg/policy/testdata/exports/README.txt: not a .json file",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(out, `\u003e`) {
		t.Errorf("portal paths are HTML-escaped in the JSON output")
	}
	var doc struct {
		Policies []map[string]json.RawMessage `json:"policies"`
		Skipped  []struct{ Source, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if len(doc.Policies) != 19 || len(doc.Skipped) != 4 {
		t.Fatalf("%d policies, %d skipped", len(doc.Policies), len(doc.Skipped))
	}
	byName := map[string]map[string]json.RawMessage{}
	for _, p := range doc.Policies {
		for _, k := range []string{"id", "displayName", "state", "applies", "reasons", "impact", "remediation"} {
			if _, ok := p[k]; !ok {
				t.Fatalf("policy lacks %q: %v", k, p)
			}
		}
		var name string
		_ = json.Unmarshal(p["displayName"], &name)
		byName[name] = p
	}
	if first := string(doc.Policies[0]["impact"]); first != `"breaks_now"` {
		t.Errorf("first policy impact %s, want breaking policies first", first)
	}
	for name, want := range map[string]string{
		"Sign-in frequency 7 days":                    `{"applies":true,"impact":"breaks_after","signInFrequencySeconds":604800}`,
		"Block device code flow":                      `{"applies":true,"impact":"breaks_now","signInFrequencySeconds":null}`,
		"Require password change for high-risk users": `{"applies":null,"impact":"unknown","signInFrequencySeconds":null}`,
		"Block legacy authentication":                 `{"applies":false,"impact":"none","signInFrequencySeconds":null}`,
	} {
		p := byName[name]
		got := `{"applies":` + string(p["applies"]) + `,"impact":` + string(p["impact"]) + `,"signInFrequencySeconds":` + orNull(p["signInFrequencySeconds"]) + `}`
		if got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	var rem []string
	_ = json.Unmarshal(byName["Block device code flow"]["remediation"], &rem)
	if len(rem) < 2 || !strings.HasPrefix(rem[1], "Equivalent Graph request: PATCH https://graph.microsoft.com/v1.0/identity/conditionalAccess/policies/a1f0c7d2-1111-4c4e-9a0b-000000000004 ") ||
		!strings.Contains(rem[1], `"excludeUsers":["b7e2c7c5-1f1e-4d1b-8a2c-9d6b2f1e0a33","`+polSvcID+`"]`) {
		t.Errorf("remediation = %q", rem)
	}
}

func orNull(r json.RawMessage) string {
	if r == nil {
		return "null"
	}
	return string(r)
}

func TestPoliciesAnalyzeTable(t *testing.T) {
	code, out, _ := runPoliciesCLI("analyze", "--user-id", polSvcID, "--ip", "198.51.100.7", polTestdata+"exports", polTestdata+"policies")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.ContainsAny(out, "\x1b\u202e") {
		t.Errorf("tenant-controlled escape sequences reached the terminal:\n%q", out)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "IMPACT") || !strings.HasPrefix(lines[1], "breaks_now") {
		t.Fatalf("table does not start with the breaking policies:\n%s", out)
	}
	for _, l := range lines {
		if l == "" {
			break // end of the table
		}
		if n := utf8.RuneCountInString(l); n > termWidth {
			t.Errorf("table line of %d columns: %q", n, l)
		}
	}
	if !strings.Contains(out, "Block legacy auth (beta)") {
		t.Errorf("sanitised name missing:\n%s", out)
	}
}

func TestPoliciesExitCodes(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"contoso", "--socket", "/nonexistent/th.sock"}, exitDaemonDown, "cannot reach the tokenhealth daemon at /nonexistent/th.sock"},
		{[]string{"contoso", "extra", "--socket", "/nonexistent/th.sock"}, 2, `policies: unexpected argument "extra"`},
		{[]string{}, 2, "usage: tokenhealth policies analyze"},
		{[]string{"analyze"}, 2, "name at least one exported policy file or directory"},
		{[]string{"analyze", "--auth-flow", "implicit", "x"}, 2, `--auth-flow "implicit" must be one of deviceCode, authorizationCode`},
		{[]string{"analyze", "--client-app-type", "desktop", "x"}, 2, `--client-app-type "desktop" must be one of`},
		{[]string{"analyze", "--platform", "freebsd", "x"}, 2, `--platform "freebsd" must be one of`},
		{[]string{"analyze", "--country", "DEU", "x"}, 2, `--country "DEU" is not a two-letter country code`},
		{[]string{"analyze", "--user-id", "svc@contoso.com", "x"}, 2, `--user-id "svc@contoso.com" is not an object id (GUID)`},
		{[]string{"analyze", "--role-template-id", "Global Administrator", "x"}, 2, `is not an object id (GUID) or "none"`},
		{[]string{"analyze", polTestdata + "exports/organization.json"}, 1, "no Conditional Access policy could be loaded"},
		{[]string{"analyze", polTestdata + "does-not-exist"}, 1, "no such file or directory"},
	}
	for _, args := range [][]string{{"-h"}, {"analyze", "--help"}, {"analyze", "--ip", "1.2.3.4", "-h", "x"}} {
		code, out, _ := runPoliciesCLI(args...)
		if code != 0 || !strings.HasPrefix(out, "Usage: tokenhealth policies analyze") || !strings.Contains(out, "-named-locations") {
			t.Errorf("%q: exit %d, stdout %q", args, code, out)
		}
	}
	for _, tc := range tests {
		code, _, stderr := runPoliciesCLI(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%q: exit %d stderr %q, want %d containing %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
	}
}
