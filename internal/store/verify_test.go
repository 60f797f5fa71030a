package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// deadbeef is what the damage tests write: a page header made of it
// identifies itself as this page id.
var deadbeef = []byte("\xde\xad\xbe\xef")

func deadbeefID() uint64 { return binary.NativeEndian.Uint64(bytes.Repeat(deadbeef, 2)) }

// fileLayout describes a closed state file: the page size, each page's
// type as bbolt sees it ("leaf", "branch", "free", ...), the probes
// bucket's root page and the free-list page.
type fileLayout struct {
	pageSize    int
	types       map[int]string
	probesRoot  int
	freelistPge int
}

func layoutOf(t *testing.T, path string) fileLayout {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	l := fileLayout{pageSize: bdb.Info().PageSize, types: map[int]string{}}
	err = bdb.View(func(tx *bolt.Tx) error {
		for id := 0; ; id++ {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return err
			}
			l.types[id] = info.Type
			if info.Type == "freelist" {
				l.freelistPge = id
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = bdb.View(func(tx *bolt.Tx) error {
		l.probesRoot = int(tx.Bucket([]byte(BucketProbes)).Root())
		return nil
	})
	if l.probesRoot == 0 {
		t.Fatal("the probes bucket is inline; the test needs it on pages of its own")
	}
	return l
}

// overwrite writes data at page id of the file at path.
func overwrite(t *testing.T, path string, pageSize, id int, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, int64(id*pageSize)); err != nil {
		t.Fatal(err)
	}
}

// The issue-9 finding: garbage over a data page used to pass Open and
// surface as read errors, tenant by tenant. Open must refuse the file and
// name the bucket and page; 'db check' gets the list from the error.
func TestOpenRefusesDamagedDataPage(t *testing.T) {
	path := populated(t)
	l := layoutOf(t, path)
	overwrite(t, path, l.pageSize, l.probesRoot, bytes.Repeat(deadbeef, l.pageSize/4))

	_, err := Open(path, Options{Key: testKey})
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("Open = %v; want a CorruptError", err)
	}
	problem := fmt.Sprintf("bucket probes: page %d is damaged (its header reads page %d)", l.probesRoot, deadbeefID())
	if len(ce.Problems) != 1 || ce.Problems[0] != problem {
		t.Fatalf("Problems = %q; want [%q]", ce.Problems, problem)
	}
	want := "state file " + path + " is damaged (" + problem + "; 'tokenhealth db check' lists them); " +
		"restore it from a copy made with 'tokenhealth db backup', or move it aside (mv " + path + " " + path + ".damaged) to start with an empty state"
	if err.Error() != want {
		t.Fatalf("error:\n%s\nwant:\n%s", err, want)
	}
	// The refusal released the lock.
	if err := os.Rename(path, path+".damaged"); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{Key: testKey})
	if err != nil {
		t.Fatalf("fresh start after moving the file aside: %v", err)
	}
	db.Close()
}

// Garbage over every page from 2 to 5, as in the reliability suite: the
// error names each damaged bucket once, with its first damaged page.
func TestOpenRefusesGarbageOverPages2To5(t *testing.T) {
	path := populated(t)
	l := layoutOf(t, path)
	inUse := 0
	for id := 2; id <= 5; id++ {
		if l.types[id] == "leaf" || l.types[id] == "branch" {
			inUse++
		}
	}
	if inUse == 0 {
		t.Skipf("pages 2-5 are not in use in this file (%v)", l.types)
	}
	overwrite(t, path, l.pageSize, 2, bytes.Repeat(deadbeef, l.pageSize))
	_, err := Open(path, Options{Key: testKey})
	var ce *CorruptError
	if !errors.As(err, &ce) || len(ce.Problems) == 0 {
		t.Fatalf("Open = %v; want a CorruptError listing problems", err)
	}
	for _, p := range ce.Problems {
		if !strings.HasPrefix(p, "bucket ") && !strings.HasPrefix(p, "the root page listing the buckets: ") &&
			!strings.HasPrefix(p, "the free-list page ") {
			t.Errorf("problem %q names neither a bucket nor the root or free-list page", p)
		}
		if !strings.Contains(p, fmt.Sprint(deadbeefID())) {
			t.Errorf("problem %q is not about the garbage written", p)
		}
	}
}

// A free page holds nothing: garbage there must not stop the agent.
func TestOpenIgnoresDamageToFreePages(t *testing.T) {
	path := populated(t)
	l := layoutOf(t, path)
	free := -1
	for id, typ := range l.types {
		if typ == "free" {
			free = id
			break
		}
	}
	if free < 0 {
		t.Fatal("the file has no free page")
	}
	overwrite(t, path, l.pageSize, free, bytes.Repeat(deadbeef, l.pageSize/4))
	db := openAt(t, path)
	defer db.Close()
	if problems, err := db.Check(); err != nil || len(problems) != 0 {
		t.Fatalf("Check = %q, %v; want no problems", problems, err)
	}
}

// bbolt parses the free-list page inside bolt.Open and panics on garbage
// there; the header preflight catches it first.
func TestOpenRefusesDamagedFreelistPage(t *testing.T) {
	path := populated(t)
	l := layoutOf(t, path)
	overwrite(t, path, l.pageSize, l.freelistPge, bytes.Repeat(deadbeef, l.pageSize/4))
	_, err := Open(path, Options{Key: testKey})
	var ce *CorruptError
	want := fmt.Sprintf("the free-list page %d is damaged (it reads as page %d with flags %#x)",
		l.freelistPge, deadbeefID(), binary.NativeEndian.Uint16(deadbeef[:2]))
	if !errors.As(err, &ce) || ce.Reason != want {
		t.Fatalf("Open = %v; want a CorruptError with reason %q", err, want)
	}
}

// editFreelist rewrites the free list's ids in place (the page keeps its
// header; count is updated).
func editFreelist(t *testing.T, path string, l fileLayout, edit func(ids []uint64) []uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, l.pageSize)
	if _, err := f.ReadAt(page, int64(l.freelistPge*l.pageSize)); err != nil {
		t.Fatal(err)
	}
	count := int(binary.NativeEndian.Uint16(page[10:12]))
	if count == 0 || count == 0xffff {
		t.Fatalf("free list holds %d ids; the test needs 1 to 65534", count)
	}
	ids := make([]uint64, count)
	for i := range ids {
		ids[i] = binary.NativeEndian.Uint64(page[pageHeaderSize+8*i:])
	}
	ids = edit(ids)
	binary.NativeEndian.PutUint16(page[10:12], uint16(len(ids)))
	for i, id := range ids {
		binary.NativeEndian.PutUint64(page[pageHeaderSize+8*i:], id)
	}
	if _, err := f.WriteAt(page, int64(l.freelistPge*l.pageSize)); err != nil {
		t.Fatal(err)
	}
}

// A page missing from the free list is leaked space, not damage: Open
// logs it with the way to reclaim it and goes on; 'db check' lists it.
func TestLeakedPageIsWarnedNotRefused(t *testing.T) {
	path := populated(t)
	l := layoutOf(t, path)
	var leaked uint64
	editFreelist(t, path, l, func(ids []uint64) []uint64 {
		leaked = ids[len(ids)-1]
		return ids[:len(ids)-1]
	})
	var logs bytes.Buffer
	db, err := Open(path, Options{Key: testKey, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Open with a leaked page: %v", err)
	}
	defer db.Close()
	leak := fmt.Sprintf("page %d: unreachable unfreed", leaked)
	if !strings.Contains(logs.String(), "'tokenhealth db compact' reclaims them") || !strings.Contains(logs.String(), leak) {
		t.Errorf("log lacks the leak and the advice:\n%s", logs.String())
	}
	problems, err := db.Check()
	if err != nil || len(problems) != 1 || problems[0] != leak {
		t.Errorf("Check = %q, %v; want [%q]", problems, err, leak)
	}
}

// A page listed twice as free could be handed to two writers: refused.
func TestDoublyFreedPageIsRefused(t *testing.T) {
	path := populated(t)
	l := layoutOf(t, path)
	var twice uint64
	editFreelist(t, path, l, func(ids []uint64) []uint64 {
		twice = ids[0]
		return append([]uint64{ids[0]}, ids...)
	})
	_, err := Open(path, Options{Key: testKey})
	var ce *CorruptError
	want := fmt.Sprintf("page %d: already freed", twice)
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0] != want {
		t.Fatalf("Open = %v (problems %q); want a CorruptError with the one problem %q", err, problemsOf(err), want)
	}
}

func problemsOf(err error) []string {
	var ce *CorruptError
	if errors.As(err, &ce) {
		return ce.Problems
	}
	return nil
}

// Damage that appears while the agent runs (after the walk at Open) is a
// CorruptError naming the file at every read and write that meets it, and
// 'db check' (Check) names the bucket and page; nothing panics.
func TestDamageAfterOpenIsErrorNotPanic(t *testing.T) {
	path := populated(t)
	l := layoutOf(t, path)
	db := openAt(t, path)
	defer db.Close()
	// bbolt maps the file shared: this write is what its next read sees.
	overwrite(t, path, l.pageSize, l.probesRoot, bytes.Repeat(deadbeef, l.pageSize/4))

	if _, err := db.ProbeHistory("tenant-001", 10); !isCorrupt(err, path) {
		t.Errorf("ProbeHistory: %v; want a CorruptError naming %s", err, path)
	}
	if err := db.AppendProbe("tenant-001", ProbeAttempt{Time: t0, Outcome: OutcomeOK}); !isCorrupt(err, path) {
		t.Errorf("AppendProbe: %v; want a CorruptError naming %s", err, path)
	}
	problems, err := db.Check()
	want := fmt.Sprintf("bucket probes: page %d is damaged (its header reads page %d)", l.probesRoot, deadbeefID())
	if err != nil || len(problems) != 1 || problems[0] != want {
		t.Fatalf("Check = %q, %v; want [%q]", problems, err, want)
	}
}

func isCorrupt(err error, path string) bool {
	var ce *CorruptError
	return errors.As(err, &ce) && ce.Path == path && strings.Contains(err.Error(), path)
}
