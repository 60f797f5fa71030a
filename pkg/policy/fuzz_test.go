package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadAndEvaluate feeds arbitrary bytes through the loader, the
// evaluator, the forecast and the drift diff: none of them may panic, and
// every evaluation must carry a known impact.
func FuzzLoadAndEvaluate(f *testing.F) {
	for _, dir := range []string{"testdata/policies", "testdata/exports", "testdata/drift"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := LoadBytes("fuzz.json", data)
		for _, p := range l.Policies {
			if _, err := json.Marshal(p); err != nil {
				t.Fatalf("loaded policy does not marshal: %v", err)
			}
		}
		s := baseSubject()
		for _, mfa := range []bool{false, true} {
			s.TokenHasMFA = mfa
			evs := Evaluate(l.Policies, l.Locations, s)
			for _, ev := range evs {
				if ev.Impact.rank() == 0 || ev.ImpactIfApplies.rank() == 0 {
					t.Fatalf("evaluation without a known impact: %+v", ev)
				}
			}
			Predict(PredictInput{Evaluations: evs, Clocks: Clocks{InteractiveSignIn: ts("2026-11-18T09:30:00Z")}, Now: ts("2026-11-20T12:00:00Z")})
			Attribute(Failure{Codes: []int{70043, 53003}, MaxLifetimeSeconds: 604800}, nil, evs)
		}
		if len(l.Policies) > 0 {
			DiffPolicies(&l.Policies[0], &l.Policies[len(l.Policies)-1])
			_, _ = ExclusionPatchBody(&l.Policies[0], svcUserID)
		}
		Sanitize(string(data))
	})
}
