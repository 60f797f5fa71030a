package policy

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzLoadSignIns feeds arbitrary bytes, as Graph's sign-in log and What If
// answers might arrive, through the decoders and on into attribution with
// the evaluations of the test tenant: nothing may panic, a failure is an
// error with a message, and whatever decoded re-encodes.
//
//	go test -run '^$' -fuzz '^FuzzLoadSignIns$' -fuzztime 60s ./pkg/policy/
func FuzzLoadSignIns(f *testing.F) {
	for _, file := range []string{"testdata/signins/noninteractive-70043.json", "testdata/whatif/evaluate-response.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"value":null}`, `[]`, `{}`, `{"value":[{"createdDateTime":"not a time"}]}`,
		`[{"status":{"errorCode":"70043"}}]`, `{"appliedConditionalAccessPolicies":[{"result":"unknownFutureValue","enforcedGrantControls":"mfa"}]}`,
		"\xff\xfe[\x00]\x00", `{"signInEventTypes":[1,2]}`,
	} {
		f.Add([]byte(s))
	}
	tenant := loadTestTenant(f)
	evs := Evaluate(tenant.Policies, tenant.Locations, baseSubject())
	f.Fuzz(func(t *testing.T, data []byte) {
		sis, err := LoadSignIns(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("error without a message")
			}
		} else {
			if _, err := json.Marshal(sis); err != nil {
				t.Fatalf("decoded sign-ins do not marshal: %v", err)
			}
			for _, code := range []int{70043, 50076, 53003} {
				a := Attribute(Failure{Codes: []int{code}, MaxLifetimeSeconds: 604800}, sis, evs)
				if _, err := json.Marshal(a); err != nil {
					t.Fatalf("attribution does not marshal: %v", err)
				}
			}
		}
		if res, err := LoadWhatIf(data); err == nil {
			if _, err := json.Marshal(res); err != nil {
				t.Fatalf("What If results do not marshal: %v", err)
			}
		} else if err.Error() == "" {
			t.Fatal("What If error without a message")
		}
	})
}
