package policy

import (
	"os"
	"slices"
	"testing"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func TestCompareWhatIf(t *testing.T) {
	l := loadTestTenant(t)
	b, err := os.ReadFile("testdata/whatif/evaluate-response.json")
	if err != nil {
		t.Fatal(err)
	}
	wi, err := LoadWhatIf(b)
	if err != nil || len(wi) != 7 {
		t.Fatalf("LoadWhatIf: %d results, %v", len(wi), err)
	}
	evs := Evaluate(l.Policies, l.Locations, baseSubject())
	fs := CompareWhatIf("t1", "Contoso", evs, wi, ts("2026-11-20T12:00:00Z"))
	var got []string
	for _, f := range fs {
		if f.Kind != health.KindWhatIfDisagreement {
			t.Errorf("kind %s", f.Kind)
		}
		got = append(got, f.Policies[0].DisplayName+"|"+string(f.Severity)+"|"+f.Summary)
	}
	want := []string{
		"Sign-in frequency 7 days|warning|What If says policy 'Sign-in frequency 7 days' does not apply to the service account; the local evaluation says it applies",
		"Block legacy authentication|warning|What If says policy 'Block legacy authentication' applies to the service account; the local evaluation says it does not apply",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n got %q\nwant %q", got, want)
	}
	if !slices.Contains(fs[0].Evidence, "What If analysis reasons: users") {
		t.Errorf("evidence = %q", fs[0].Evidence)
	}
	if _, err := LoadWhatIf([]byte(`{"error":{"code":"BadRequest"}}`)); err == nil {
		t.Error("an error body was accepted as a What If result")
	}
}
