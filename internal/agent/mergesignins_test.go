package agent

import (
	"slices"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/policy"
)

// TestMergeSignInsKeepsEvidenceNotEveryRefresh: failures and interactive
// sign-ins are kept while inside the lookback; of the successful refreshes
// only the latest per app survives, whichever pass read it.
func TestMergeSignInsKeepsEvidenceNotEveryRefresh(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	refresh := func(id, app string, h int) policy.SignIn {
		return policy.SignIn{ID: id, AppID: app, CreatedDateTime: at(h)}
	}
	failure := func(id, app string, h, code int) policy.SignIn {
		s := refresh(id, app, h)
		s.Status.ErrorCode = code
		return s
	}
	interactive := func(id, app string, h int) policy.SignIn {
		s := refresh(id, app, h)
		s.IsInteractive = true
		return s
	}
	old := []policy.SignIn{
		refresh("r1", "canary", 1), refresh("r2", "canary", 2), refresh("p1", "platform", 2),
		failure("f1", "canary", 3, 50133), interactive("i1", "platform", 1), refresh("gone", "canary", -200),
	}
	fresh := []policy.SignIn{
		refresh("r3", "CANARY", 5), refresh("r2", "canary", 2), failure("f2", "canary", 4, 53003),
		refresh("p0", "platform", 0),
	}
	got := mergeSignIns(old, fresh, at(-100))
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	want := []string{"f1", "f2", "i1", "p1", "r3"}
	if !slices.Equal(ids, want) {
		t.Errorf("kept %v, want %v", ids, want)
	}
}
