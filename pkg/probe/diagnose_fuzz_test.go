package probe

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDiagnose: any input, however mangled, must classify without panicking,
// deterministically, into one of the contract's causes, with never-null
// codes and values, never both definitive and transient, and never a
// credential-shaped value. Seeds live in testdata/fuzz/FuzzDiagnose.
//
//	go test -run x -fuzz FuzzDiagnose -fuzztime 30s ./pkg/probe/
func FuzzDiagnose(f *testing.F) {
	for _, s := range []string{
		"", "AADSTS", "AADSTS70043", `{"error_codes":[`, "\\", "%", "&#", "<html><![CDATA[", "\\u00",
		`error_codes":[70002,70000]`, "suberror", "status code was 5", "error?code=99999999999999",
	} {
		f.Add(s)
	}
	valid := map[Cause]bool{}
	for _, c := range Causes {
		valid[c] = true
	}
	f.Fuzz(func(t *testing.T, in string) {
		a := Diagnose(in)
		b := Diagnose(in)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("not deterministic:\n%+v\n%+v", a, b)
		}
		if !valid[a.Cause] {
			t.Fatalf("cause %q is not in the contract", a.Cause)
		}
		if a.Codes == nil || a.Values == nil {
			t.Fatal("codes and values must never be nil")
		}
		if a.Definitive && a.Transient {
			t.Fatal("definitive and transient at once")
		}
		if a.ReEnroll && !a.Definitive {
			t.Fatal("re-enroll without a definitive verdict")
		}
		for k, v := range a.Values {
			if looksLikeCredential(v) {
				t.Fatalf("values[%s] = %q looks like a credential", k, v)
			}
		}
		if _, err := json.Marshal(a); err != nil {
			t.Fatal(err)
		}
		_ = Hints{DeviceCodeSession: true}.Diagnose(in)
		_ = RedactCredentials(in)
	})
}
