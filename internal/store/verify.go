package store

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// bbolt reads pages lazily and trusts what it finds. A data page overwritten
// with garbage (a bad sector, a stray write, a copy that stopped half way)
// goes unnoticed at Open, and every later read that reaches it fails, one
// tenant at a time, while the agent reports itself running. Open therefore
// walks every page reachable from the current root once, with bbolt's own
// consistency check, and refuses the file with one CorruptError that says
// what to do. Free pages are not read: damage there loses nothing.
//
// bbolt maps the file with MADV_RANDOM, so on a cold page cache (after a
// boot) its walk costs one disk round trip per page: 106 s for the 1.4 GB
// file of 10,000 tenants on the reference VM, beyond systemd's start
// timeout. Reading the file once, sequentially, in large blocks first
// brings that down to a sequential read plus the warm walk
// (BenchmarkVerifyPages; figures in README.md).

// verifyPages checks the file behind bdb before anything else reads it.
// Space that is neither in use nor free (leaked pages: harmless to the
// data, reclaimed by 'tokenhealth db compact') is logged, not refused.
func verifyPages(bdb *bolt.DB, path string, log *slog.Logger) error {
	if err := readAhead(path); err != nil {
		return err
	}
	var damage, leaks []string
	// Open has no writers yet, so a read-only transaction is safe for
	// bbolt's check and avoids the node caching of a writable one.
	err := bdb.View(func(tx *bolt.Tx) error {
		damage, leaks = pageProblems(tx)
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify state file %s: %w", path, err)
	}
	releaseMapping(bdb, path)
	if len(leaks) > 0 {
		log.Warn("state file has pages that are neither in use nor free; 'tokenhealth db compact' reclaims them",
			"path", path, "pages", len(leaks), "first", leaks[0])
	}
	if len(damage) == 0 {
		return nil
	}
	reason := damage[0]
	if n := len(damage) - 1; n > 0 {
		reason += fmt.Sprintf("; %d more problem(s)", n)
	}
	reason += "; 'tokenhealth db check' lists them"
	return &CorruptError{Path: path, Reason: reason, Problems: damage}
}

// readAhead reads the whole file sequentially so bbolt's page walk finds
// it in the page cache. A read error here is a sector the disk cannot
// return: the file is damaged where it lies.
func readAhead(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verify state file %s: %w", path, err)
	}
	defer f.Close()
	buf := make([]byte, 4<<20)
	var off int64
	for {
		n, err := f.ReadAt(buf, off)
		off += int64(n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &CorruptError{Path: path, Reason: fmt.Sprintf("reading at byte %d: %v", off, err)}
		}
	}
}

// pageProblems runs bbolt's check over the whole file. When it finds
// damage, each top-level bucket is checked again on its own so every
// problem names the bucket it is in: bbolt's messages name pages only, and
// its check stops at the first page it cannot parse. Findings that belong
// to no bucket (the free list) are reported as they are.
func pageProblems(tx *bolt.Tx) (damage, leaks []string) {
	var whole []string
	for err := range tx.Check() {
		msg := err.Error()
		if isLeak(msg) {
			leaks = append(leaks, msg)
			continue
		}
		whole = append(whole, msg)
	}
	if len(whole) == 0 {
		return nil, leaks
	}
	return byBucket(tx, whole), leaks
}

// byBucket checks each top-level bucket's page tree alone and returns its
// problems prefixed with the bucket's name, then the findings of the whole
// check (whole) that no bucket's check produced.
func byBucket(tx *bolt.Tx, whole []string) []string {
	type bucketRoot struct {
		name string
		page uint64
	}
	var roots []bucketRoot
	listed := catchPanic(func() {
		_ = tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			roots = append(roots, bucketRoot{string(name), uint64(b.Root())})
			return nil
		})
	})
	if listed != nil {
		// No bucket can be reached without the page listing them, and the
		// whole check stopped at that same page.
		return []string{"the root page listing the buckets: " + plainPageProblem(fmt.Sprint(listed))}
	}
	var problems []string
	attributed := map[string]bool{}
	for _, r := range roots {
		if r.page == 0 {
			continue // an inline bucket lives in the root page, read above
		}
		for err := range tx.Check(bolt.WithPageId(r.page)) {
			msg := err.Error()
			// Every check run first verifies the free list itself; those
			// findings belong to no bucket.
			if isFreelistOnly(msg) || attributed[msg] {
				continue
			}
			attributed[msg] = true
			problems = append(problems, "bucket "+r.name+": "+plainPageProblem(msg))
		}
	}
	for _, msg := range whole {
		if !attributed[msg] {
			problems = append(problems, msg)
		}
	}
	return problems
}

// misplacedPage is bbolt's assertion for a page whose header carries
// another page's id: what garbage, a zeroed block or a misdirected write
// leave.
var misplacedPage = regexp.MustCompile(`^(?:panic: )?assertion failed: Page expected to be: (\d+), but self identifies as (\d+)$`)

// plainPageProblem words bbolt's most common finding for an administrator;
// other messages pass as they are.
func plainPageProblem(msg string) string {
	if m := misplacedPage.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("page %s is damaged (its header reads page %s)", m[1], m[2])
	}
	return msg
}

// isLeak and isFreelistOnly recognise two of bbolt's check messages
// ("page N: unreachable unfreed", "page N: already freed"); the texts are
// pinned by TestLeakedPageIsWarnedNotRefused and TestDoublyFreedPageIsRefused.
func isLeak(msg string) bool         { return strings.HasSuffix(msg, ": unreachable unfreed") }
func isFreelistOnly(msg string) bool { return strings.HasSuffix(msg, ": already freed") }

// catchPanic runs fn and returns what it panicked with, if anything: bbolt
// asserts, rather than returns errors, when a page is not what it expects.
func catchPanic(fn func()) (r any) {
	defer func() { r = recover() }()
	fn()
	return nil
}
