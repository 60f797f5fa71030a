package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBackupIsConsistentPrivateAndOpens(t *testing.T) {
	db := openTemp(t, Options{})
	if err := db.SaveTokenCache("t1", []byte("cache")); err != nil {
		t.Fatal(err)
	}
	if err := db.PutJSON(BucketFindings, "t1/f1", map[string]string{"kind": "mfa"}); err != nil {
		t.Fatal(err)
	}
	// Probes keep writing during the backup: it must not block them or
	// copy a half-written state.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.AppendProbe("t1", ProbeAttempt{Time: t0.Add(time.Duration(i) * time.Second), Outcome: OutcomeOK}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	backup := filepath.Join(t.TempDir(), "nested-not-created", "..", "backup.db")
	if err := db.Backup(backup); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()

	info, err := os.Stat(backup)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode %04o; want 0600", info.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(backup), ".backup.db.tmp-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	copyDB, err := Open(backup, Options{Key: testKey})
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer copyDB.Close()
	if got, err := copyDB.LoadTokenCache("t1"); err != nil || string(got) != "cache" {
		t.Fatalf("backup token cache = %q, %v", got, err)
	}
	if problems, err := copyDB.Check(); err != nil || len(problems) != 0 {
		t.Fatalf("backup check: %v, %v", problems, err)
	}
}

func TestBackupRefusesTheLiveFile(t *testing.T) {
	db := openTemp(t, Options{})
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Link(db.Path(), link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{db.Path(), link} {
		err := db.Backup(p)
		if err == nil || !strings.HasSuffix(err.Error(), "is the state file itself") {
			t.Errorf("Backup(%s) = %v", p, err)
		}
	}
}

func TestCheckReportsOurProblemsByBucketAndKey(t *testing.T) {
	db := openTemp(t, Options{})
	if err := db.SaveTokenCache("good", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendProbe("t1", ProbeAttempt{Time: t0, Outcome: OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	if problems, err := db.Check(); err != nil || len(problems) != 0 {
		t.Fatalf("clean file: %v, %v", problems, err)
	}
	other, _ := newSealer(make([]byte, KeySize)) // all-zero key: not the state key
	foreign, _ := other.seal([]byte("x"), []byte("stranger"))
	err := db.bolt.Update(func(tx *boltTx) error {
		puts := []struct{ bucket, key, value string }{
			{BucketTokenCache, "stranger", string(foreign)},
			{BucketProbes, string(probeKey("t1", t0.Add(time.Second).UnixNano())), "{not json"},
			{BucketProbes, "short", "{}"},
			{BucketFindings, "t1/bad\x01", "\xff\xfe"},
		}
		for _, p := range puts {
			if err := tx.Bucket([]byte(p.bucket)).Put([]byte(p.key), []byte(p.value)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := db.Check()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`findings/t1/bad\x01: value is not valid JSON (2 bytes)`,
		`probes/short: key is not tenant/time`,
		`probes/t1/2026-03-01T12:00:01Z: probe record does not decode: invalid character 'n' looking for beginning of object key string`,
		`token_cache/stranger: token cache of tenant stranger cannot be decrypted: the state key does not match the state file ` + db.Path(),
	}
	if !reflect.DeepEqual(problems, want) {
		t.Fatalf("problems:\n got %q\nwant %q", problems, want)
	}
}

func TestCompactShrinksAndKeepsData(t *testing.T) {
	db := openTemp(t, Options{})
	big := strings.Repeat("y", 4000)
	err := db.Update(func(tx *Tx) error {
		for i := range 200 {
			if err := tx.Put(BucketPolicies, fmt.Sprintf("p%03d", i), []byte(`"`+big+`"`)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *Tx) error {
		for i := range 190 {
			if err := tx.Delete(BucketPolicies, fmt.Sprintf("p%03d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SaveTokenCache("t1", []byte("cache")); err != nil {
		t.Fatal(err)
	}
	path := db.Path()

	// While the daemon holds the file, compaction refuses.
	err = Compact(path, Options{Key: testKey, Timeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Compact of a held file = %v; want ErrLocked", err)
	}
	db.Close()
	before, _ := os.Stat(path)
	if err := Compact(path, Options{Key: testKey}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if after.Size() >= before.Size() {
		t.Fatalf("size %d -> %d; want smaller", before.Size(), after.Size())
	}
	if after.Mode().Perm() != 0o600 {
		t.Fatalf("compacted file mode %04o", after.Mode().Perm())
	}
	db = openAt(t, path)
	defer db.Close()
	n := 0
	_ = db.ForEach(BucketPolicies, "", func(string, []byte) error { n++; return nil })
	got, err := db.LoadTokenCache("t1")
	if n != 10 || err != nil || string(got) != "cache" {
		t.Fatalf("after compact: %d policies, cache %q, %v", n, got, err)
	}
	if _, err := os.Stat(path + ".compact-tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temporary compaction file left behind")
	}
}
