package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestLoadExportDirectory(t *testing.T) {
	l, err := LoadPaths("testdata/exports")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range l.Policies {
		names = append(names, p.ID+" "+p.State)
	}
	wantPolicies := []string{
		"e1000000-0000-4000-8000-000000000003 enabled",
		"e1000000-0000-4000-8000-000000000001 enabled",
		"e1000000-0000-4000-8000-000000000002 enabledForReportingButNotEnforced",
	}
	if !slices.Equal(names, wantPolicies) {
		t.Fatalf("policies = %q, want %q", names, wantPolicies)
	}
	if len(l.Locations) != 1 || l.Locations[0].Kind != LocationIP || !l.Locations[0].IsTrusted || l.Locations[0].IPRanges[0].CIDRAddress != "203.0.113.0/24" {
		t.Fatalf("locations = %+v", l.Locations)
	}
	// The PowerShell (PascalCase, UTF-16LE, CRLF) export decodes completely.
	ps := l.Policies[1]
	if ps.SessionControls == nil || ps.SessionControls.SignInFrequency == nil || *ps.SessionControls.SignInFrequency.Value != 30 ||
		ps.Conditions.Users.ExcludeUsers[0] != breakGlass || ps.Source != "testdata/exports/tenant-export-utf16le.json[0]" {
		t.Fatalf("PowerShell export decoded wrongly: %+v", ps)
	}
	wantSkipped := []Skipped{
		{"testdata/exports/README.txt", "not a .json file"},
		{"testdata/exports/organization.json", "not a Conditional Access policy or named location (no conditions, grantControls, ipRanges or countriesAndRegions; keys: displayName, id, tenantType, verifiedDomains)"},
		{"testdata/exports/powershell-depth2.json", "conditional access policy cannot be decoded: nested objects were written as .NET type names (PowerShell ConvertTo-Json depth too small); re-export with ConvertTo-Json -Depth 10"},
	}
	if len(l.Skipped) != 4 || !slices.Equal(l.Skipped[:3], wantSkipped) {
		t.Fatalf("skipped:\n%v", l.Skipped)
	}
	if tr := l.Skipped[3]; tr.Source != "testdata/exports/truncated.json" || !strings.HasPrefix(tr.Reason, "not valid JSON: unexpected end of JSON input") {
		t.Fatalf("truncated file skipped as %v", tr)
	}
	// And it evaluates: the 30-day SIF applies to the service account.
	evs := Evaluate(l.Policies, l.Locations, baseSubject())
	if evs[1].Impact != ImpactBreaksAfter || evs[1].SignInFrequencySeconds != 30*86400 {
		t.Errorf("PowerShell policy evaluates to %s %d", evs[1].Impact, evs[1].SignInFrequencySeconds)
	}
}

func TestLoadBytesShapes(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		policies int
		skipped  string
	}{
		{"single object", []byte(`{"id":"p1","displayName":"x","state":"enabled","conditions":{}}`), 1, ""},
		{"bare array", []byte(`[{"id":"p1","conditions":{}},{"id":"p2","conditions":{}}]`), 2, ""},
		{"crlf value list", []byte("{\r\n\"value\": [\r\n{\"id\":\"p1\",\"conditions\":{}}\r\n]\r\n}\r\n"), 1, ""},
		{"empty list", []byte(`{"value":[]}`), 0, "empty list: no policies or named locations"},
		{"empty file", []byte("  \r\n"), 0, "empty file"},
		{"scalar", []byte(`42`), 0, "JSON document is neither an object nor an array"},
		{"wrong type", []byte(`{"id":"p1","conditions":{"users":{"includeUsers":[1]}}}`), 0, "conditional access policy cannot be decoded: element 0 is not a string"},
		{"string for list", []byte(`{"id":"p1","conditions":{"clientAppTypes":"all"}}`), 1, ""},
		{"no identity", []byte(`{"conditions":{}}`), 0, "conditional access policy has neither id nor displayName"},
		{"binary", []byte{0x00, 0xff, 0xfe, 0x80}, 0, "not text: invalid UTF-8 and no UTF-16 byte order mark"},
		{"odd utf16", []byte{0xff, 0xfe, '{', 0, '}'}, 0, "truncated UTF-16 text (odd number of bytes)"},
		{"non-object element", []byte(`[1]`), 0, "list element is not a JSON object"},
		{"duplicate ids", []byte(`[{"id":"p1","conditions":{}},{"id":"P1","conditions":{}}]`), 1, "duplicate of policy P1 loaded from in.json[0]"},
		{"location without id", []byte(`{"displayName":"x","ipRanges":[]}`), 0, `named location "x" has no id, so no policy can refer to it`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := LoadBytes("in.json", tc.in)
			if len(l.Policies) != tc.policies {
				t.Fatalf("policies = %d, want %d (skipped %v)", len(l.Policies), tc.policies, l.Skipped)
			}
			if tc.skipped == "" && len(l.Skipped) > 0 {
				t.Fatalf("unexpected skip %v", l.Skipped)
			}
			if tc.skipped != "" && (len(l.Skipped) != 1 || !strings.HasPrefix(l.Skipped[0].Reason, tc.skipped)) {
				t.Fatalf("skipped = %v, want reason %q", l.Skipped, tc.skipped)
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"Plain name":                  "Plain name",
		"Block \x1b[31mlegacy\x1b[0m": "Block legacy",
		"title\x1b]0;pwned\x07 here":  "title here",
		"bidi\u202egnp.exe":           "bidi gnp.exe",
		"tab\tand\r\nnewline":         "tab and newline",
		"  double  space ":            "double space",
		"Ünïcödé stays":               "Ünïcödé stays",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}
