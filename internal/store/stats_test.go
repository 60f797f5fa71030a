package store

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

func TestStatsAndDeleteProbeHistory(t *testing.T) {
	db := openTemp(t, Options{})
	for i := range 3 {
		for _, tenant := range []string{"a", "ab", "b"} {
			if err := db.AppendProbe(tenant, ProbeAttempt{Time: t0.Add(time.Duration(i) * time.Minute), Outcome: OutcomeOK}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.SaveTokenCache("a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	st, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys[BucketProbes] != 9 || st.Keys[BucketTokenCache] != 1 || st.Keys[BucketMeta] != 2 || st.SchemaVersion != SchemaVersion() || st.SizeBytes <= 0 {
		t.Fatalf("stats = %+v", st)
	}
	removed, err := db.DeleteProbeHistory("a")
	if err != nil || removed != 3 {
		t.Fatalf("DeleteProbeHistory(a) = %d, %v; want 3", removed, err)
	}
	for tenant, want := range map[string]int{"a": 0, "ab": 3, "b": 3} {
		if h, _ := db.ProbeHistory(tenant, 0); len(h) != want {
			t.Errorf("tenant %s has %d attempts; want %d", tenant, len(h), want)
		}
	}
}

func TestExposedStateFileIsLogged(t *testing.T) {
	db := openTemp(t, Options{})
	path := db.Path()
	db.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	db, err := Open(path, Options{Key: testKey, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if !strings.Contains(logs.String(), `msg="state file is readable by group or others"`) ||
		!strings.Contains(logs.String(), `fix="chmod 600 `+path+`"`) {
		t.Fatalf("log = %s", logs.String())
	}
}
