package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// populated returns the path of a closed state file holding enough data to
// span many pages.
func populated(t *testing.T) string {
	t.Helper()
	db := openTemp(t, Options{})
	err := db.bolt.Update(func(tx *boltTx) error {
		b := tx.Bucket([]byte(BucketProbes))
		for i := range 300 {
			w, err := db.newProbeWrite(fmt.Sprintf("tenant-%03d", i%30), ProbeAttempt{Time: t0, Outcome: OutcomeOK, Message: strings.Repeat("x", 200)})
			if err != nil {
				return err
			}
			if err := putProbe(b, w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDamagedFilesGiveClearErrors(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, path string)
		reason string
	}{
		{"truncated mid-data", func(t *testing.T, path string) {
			info, _ := os.Stat(path)
			if err := os.Truncate(path, info.Size()/2); err != nil {
				t.Fatal(err)
			}
		}, "file is truncated: its header says "},
		{"truncated inside the header", func(t *testing.T, path string) {
			if err := os.Truncate(path, 40); err != nil {
				t.Fatal(err)
			}
		}, "not a bbolt database, or both of its header pages are damaged: header page is incomplete"},
		{"garbage", func(t *testing.T, path string) {
			garbage := []byte(strings.Repeat("this is not a database. ", 1000))
			if err := os.WriteFile(path, garbage, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a bbolt database, or both of its header pages are damaged: no bbolt signature"},
		{"both header checksums broken", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, off := range []int64{0, 4096} { // flip a byte in each meta's txid
				b := make([]byte, 1)
				_, _ = f.ReadAt(b, off+pageHeaderSize+48)
				b[0] ^= 0xff
				_, _ = f.WriteAt(b, off+pageHeaderSize+48)
			}
		}, "not a bbolt database, or both of its header pages are damaged: header checksum mismatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := populated(t)
			c.damage(t, path)
			_, err := Open(path, Options{Key: testKey})
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Open error = %v; want CorruptError", err)
			}
			if !strings.HasPrefix(ce.Reason, c.reason) {
				t.Fatalf("reason = %q; want prefix %q", ce.Reason, c.reason)
			}
			msg := err.Error()
			for _, part := range []string{
				"state file " + path + " is damaged (",
				"restore it from a copy made with 'tokenhealth db backup'",
				"mv " + path + " " + path + ".damaged",
			} {
				if !strings.Contains(msg, part) {
					t.Errorf("message %q lacks %q", msg, part)
				}
			}
		})
	}
}

// One damaged header page is what bbolt's double meta is for: the other
// page still opens the file.
func TestOneDamagedHeaderStillOpens(t *testing.T) {
	path := populated(t)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteAt([]byte{0, 0, 0, 0}, pageHeaderSize) // magic of meta 0
	f.Close()
	db, err := Open(path, Options{Key: testKey})
	if err != nil {
		t.Fatalf("Open with one good header: %v", err)
	}
	db.Close()
}

func TestEmptyFileIsInitialised(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// Damage to the root page is met by the page walk at Open; Open turns it
// into the same advice as any other damage, and releases the lock.
func TestDamagedRootPageIsCorruptErrorNotPanic(t *testing.T) {
	path := populated(t)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := readMeta(f, 0)
	if m1 := readMeta(f, int64(m.pageSize)); m1.valid && m1.txid > m.txid {
		m = m1
	}
	garbage := []byte(strings.Repeat("\x5a", int(m.pageSize)))
	if _, err := f.WriteAt(garbage, int64(m.root)*int64(m.pageSize)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Open(path, Options{Key: testKey})
	var ce *CorruptError
	want := fmt.Sprintf("the root page listing the buckets: page %d is damaged (its header reads page %d)", m.root, uint64(0x5a5a5a5a5a5a5a5a))
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0] != want {
		t.Fatalf("Open error = %v; want CorruptError with the one problem %q", err, want)
	}
	// The lock was released: the file can be moved aside and reopened.
	if err := os.Rename(path, path+".damaged"); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{Key: testKey})
	if err != nil {
		t.Fatalf("fresh start after moving the file aside: %v", err)
	}
	db.Close()
}
