package probe

import (
	"testing"
	"time"
)

func TestIdPDetector(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		tenant    string
		after     time.Duration
		transient bool
		wantDown  bool
		wantCount [2]int // probed, transient
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"two tenants are not enough", []step{
			{"a", 0, true, false, [2]int{1, 1}},
			{"b", time.Second, true, false, [2]int{2, 2}},
		}},
		{"half of three is an outage", []step{
			{"a", 0, false, false, [2]int{1, 0}},
			{"b", time.Second, true, false, [2]int{2, 1}},
			{"c", 2 * time.Second, true, true, [2]int{3, 2}},
		}},
		{"only each tenant's latest attempt counts", []step{
			{"a", 0, true, false, [2]int{1, 1}},
			{"a", time.Second, true, false, [2]int{1, 1}},
			{"a", 2 * time.Second, true, false, [2]int{1, 1}},
			{"b", 3 * time.Second, false, false, [2]int{2, 1}},
			{"c", 4 * time.Second, false, false, [2]int{3, 1}},
		}},
		{"old attempts leave the window", []step{
			{"a", 0, true, false, [2]int{1, 1}},
			{"b", 0, true, false, [2]int{2, 2}},
			{"c", 6 * time.Minute, true, false, [2]int{1, 1}},
		}},
		{"clears only when successes come back", []step{
			{"a", 0, true, false, [2]int{1, 1}},
			{"b", 0, true, false, [2]int{2, 2}},
			{"c", 0, true, true, [2]int{3, 3}},
			{"a", 10 * time.Minute, true, true, [2]int{1, 1}}, // few probes during the outage: still down
			{"b", 10 * time.Minute, false, true, [2]int{2, 1}},
			{"c", 10 * time.Minute, false, false, [2]int{3, 1}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newIdPDetector(5*time.Minute, 3, 0.5)
			for i, s := range tt.steps {
				d.observe(s.tenant, t0.Add(s.after), s.transient)
				st := d.status()
				if st.Unreachable != s.wantDown || st.Probed != s.wantCount[0] || st.Transient != s.wantCount[1] {
					t.Fatalf("step %d: %+v, want down=%v probed=%d transient=%d", i, st, s.wantDown, s.wantCount[0], s.wantCount[1])
				}
			}
		})
	}
}

func TestIdPDetectorForgetAndCompaction(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := newIdPDetector(time.Minute, 3, 0.5)
	for i := range 5000 {
		d.observe("t"+string(rune('a'+i%7)), t0.Add(time.Duration(i)*time.Second), i%2 == 0)
	}
	if len(d.events)-d.head > 70 {
		t.Errorf("%d live events for a 1-minute window of one attempt per second", len(d.events)-d.head)
	}
	if len(d.events) > 3000 {
		t.Errorf("event slice grew to %d: never compacted", len(d.events))
	}
	st := d.status()
	if st.Probed != 7 {
		t.Fatalf("probed %d, want the 7 tenants", st.Probed)
	}
	d.forget("ta", t0.Add(5000*time.Second))
	if got := d.status().Probed; got != 6 {
		t.Errorf("after forget: probed %d, want 6", got)
	}
}
