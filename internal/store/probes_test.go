package store

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestProbeHistoryNewestFirstPerTenant(t *testing.T) {
	db := openTemp(t, Options{})
	full := ProbeAttempt{
		Time: t0.Add(2 * time.Minute), Outcome: OutcomeDefinitive, LatencyMS: 412.5,
		Codes: []int{50076}, Cause: "mfa_required", Error: "invalid_grant", SubError: "basic_action",
		TraceID: "trace", CorrelationID: "corr", Values: map[string]string{"policy": "p1"},
		AccessTokenExpiry: t0.Add(time.Hour), TokenSource: "refresh_token", Message: "MFA required",
	}
	writes := []struct {
		tenant string
		a      ProbeAttempt
	}{
		{"tenant-a", ProbeAttempt{Time: t0, Outcome: OutcomeOK}},
		{"tenant-ab", ProbeAttempt{Time: t0.Add(time.Minute), Outcome: OutcomeOK}}, // shares the prefix "tenant-a"
		{"tenant-a", full},
		{"tenant-a", ProbeAttempt{Time: t0.Add(time.Minute), Outcome: OutcomeTransient}},
		{"tenant-b", ProbeAttempt{Time: t0.Add(5 * time.Minute), Outcome: OutcomeOK}},
	}
	for _, w := range writes {
		if err := db.AppendProbe(w.tenant, w.a); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.ProbeHistory("tenant-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []ProbeAttempt{full, {Time: t0.Add(time.Minute), Outcome: OutcomeTransient}, {Time: t0, Outcome: OutcomeOK}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("history:\n got %+v\nwant %+v", got, want)
	}
	got, _ = db.ProbeHistory("tenant-a", 2)
	if len(got) != 2 || !got[0].Time.Equal(full.Time) {
		t.Fatalf("limit 2: %+v", got)
	}
	// The last tenant in the bucket: Seek past the end must fall back to Last.
	got, _ = db.ProbeHistory("tenant-b", 0)
	if len(got) != 1 || got[0].Outcome != OutcomeOK {
		t.Fatalf("tenant-b: %+v", got)
	}
	if got, _ := db.ProbeHistory("tenant-none", 0); len(got) != 0 {
		t.Fatalf("unknown tenant: %+v", got)
	}
}

// A frozen virtual clock stamps every attempt with the same instant; none
// may overwrite another.
func TestAppendProbeSameInstantKeepsAll(t *testing.T) {
	vc := clock.NewVirtual(t0, 0)
	db := openTemp(t, Options{Clock: vc})
	for i := range 5 {
		if err := db.AppendProbe("t1", ProbeAttempt{Outcome: OutcomeOK, Message: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.ProbeHistory("t1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("kept %d of 5 attempts", len(got))
	}
	for i, a := range got {
		if want := fmt.Sprint(4 - i); a.Message != want || !a.Time.Equal(t0) {
			t.Fatalf("attempt %d = %q at %v; want %q at %v", i, a.Message, a.Time, want, t0)
		}
	}
}

func TestAppendProbeConcurrent(t *testing.T) {
	db := openTemp(t, Options{})
	const writers, each = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				at := t0.Add(time.Duration(i) * time.Second)
				errs <- db.AppendProbe(fmt.Sprintf("tenant-%02d", w%4), ProbeAttempt{Time: at, Outcome: OutcomeOK})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for w := range 4 {
		h, err := db.ProbeHistory(fmt.Sprintf("tenant-%02d", w), 0)
		if err != nil {
			t.Fatal(err)
		}
		total += len(h)
	}
	if total != writers*each {
		t.Fatalf("stored %d attempts; want %d", total, writers*each)
	}
}

func TestAppendProbeAfterClose(t *testing.T) {
	db := openTemp(t, Options{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendProbe("t1", ProbeAttempt{Time: t0, Outcome: OutcomeOK}); err != ErrClosed {
		t.Fatalf("AppendProbe after Close = %v; want ErrClosed", err)
	}
}
