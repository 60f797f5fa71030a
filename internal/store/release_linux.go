package store

import (
	"os"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// releaseMapping drops the pages of bbolt's read-only mapping from this
// process's resident set after verifyPages walked the whole file. Without
// it the walk leaves every page of the file resident (1.4 GB at 10,000
// tenants with 30 days of history), charged to the agent's RSS and to the
// unit's memory until the kernel reclaims it. The mapping is shared and
// read-only (bbolt writes with pwrite), so MADV_DONTNEED loses nothing: a
// later read faults the page back in from the page cache.
func releaseMapping(bdb *bolt.DB, path string) {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		return
	}
	// bbolt maps at least the file's size; the length is rounded up to
	// whole pages as madvise requires.
	page := int64(os.Getpagesize())
	length := (fi.Size() + page - 1) / page * page
	// Info().Data is the mapping's address; a raw syscall keeps it a
	// uintptr instead of forging a Go slice over memory bbolt owns.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, bdb.Info().Data, uintptr(length), unix.MADV_DONTNEED)
}
