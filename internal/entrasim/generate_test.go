package entrasim

import (
	"bytes"
	"testing"
)

// TestGenerateRoundTrip: a generated scenario builds, survives a trip
// through YAML unchanged, and is the same for the same seed.
func TestGenerateRoundTrip(t *testing.T) {
	sc := GenerateScenario(60, 7)
	var buf bytes.Buffer
	if err := WriteScenarioYAML(&buf, sc); err != nil {
		t.Fatal(err)
	}
	back, err := ParseScenario(buf.Bytes())
	if err != nil {
		t.Fatalf("generated YAML does not parse: %v", err)
	}
	direct, err := New(Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	viaYAML, err := New(Options{Scenario: back})
	if err != nil {
		t.Fatal(err)
	}
	a, b := direct.Summaries(), viaYAML.Summaries()
	if len(a) != 60 || len(b) != 60 {
		t.Fatalf("tenants: %d and %d, want 60", len(a), len(b))
	}
	events := 0
	for i := range a {
		if a[i].ID != b[i].ID || len(a[i].PolicyIDs) != len(b[i].PolicyIDs) || len(a[i].Users) != 3 {
			t.Fatalf("tenant %d differs: %+v vs %+v", i, a[i], b[i])
		}
		events += len(a[i].PendingEvents)
	}
	if events != 6 {
		t.Errorf("timed events = %d, want 6 (one tenant in ten)", events)
	}
	var again bytes.Buffer
	if err := WriteScenarioYAML(&again, GenerateScenario(60, 7)); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("same seed gave a different scenario")
	}
}
