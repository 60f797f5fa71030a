package store

import (
	"errors"
	"testing"
	"time"
)

// bbolt's flock is per open file description, so a second Open in the same
// process stands in for a second process.
func TestSecondOpenTimesOutNamingTheFile(t *testing.T) {
	db := openTemp(t, Options{})
	start := time.Now()
	_, err := Open(db.Path(), Options{Key: testKey, Timeout: 200 * time.Millisecond})
	waited := time.Since(start)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open error = %v; want ErrLocked", err)
	}
	want := "another tokenhealth process holds " + db.Path() + " (its lock was not released within 200ms)"
	if err.Error() != want {
		t.Fatalf("error = %q\nwant    %q", err, want)
	}
	// bbolt polls the lock every 50ms and may stop one poll early.
	if waited < 100*time.Millisecond {
		t.Fatalf("gave up after %v, before the timeout", waited)
	}
	// Once released, the file opens at once.
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(path, Options{Key: testKey, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db2.Close()
}
