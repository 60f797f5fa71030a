package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// rssFileKB reads this process's resident file-backed memory.
func rssFileKB(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatalf("RssFile line %q: %v", line, err)
			}
			return kb
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// TestVerifyLeavesTheFileOutOfTheResidentSet: the page walk at Open
// touches the whole file; it must not stay charged to the agent's RSS.
func TestVerifyLeavesTheFileOutOfTheResidentSet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.db")
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	value := bytes.Repeat([]byte("x"), 64<<10)
	for batch := range 8 { // 8 x 8 x 64 KiB = 32 MiB of overflow pages
		err := bdb.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("history"))
			if err != nil {
				return err
			}
			for i := range 64 {
				if err := b.Put([]byte(strconv.Itoa(batch*64+i)), value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}

	bdb, err = bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	before := rssFileKB(t)
	// The walk alone, to see that it does make the file resident here.
	if err := bdb.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	walked := rssFileKB(t)
	if walked-before < 16<<10 {
		t.Skipf("the walk made only %d kB resident (RssFile %d -> %d kB): cannot observe the release here", walked-before, before, walked)
	}
	releaseMapping(bdb, path)
	after := rssFileKB(t)
	if after-before > 4<<10 {
		t.Errorf("RssFile %d kB before the walk, %d kB after it, %d kB after releaseMapping: the file stays resident", before, walked, after)
	}
	// The mapping still works: a read faults the page back in.
	if err := bdb.View(func(tx *bolt.Tx) error {
		if got := tx.Bucket([]byte("history")).Get([]byte("511")); !bytes.Equal(got, value) {
			t.Errorf("value read after the release: %d bytes, want %d", len(got), len(value))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
