package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// CorruptError reports a state file that cannot be used as it is, and tells
// the administrator the two ways out.
type CorruptError struct {
	Path   string
	Reason string
	// Problems lists every damaged page found by the page walk at Open, each
	// naming its bucket when that can be told, for 'tokenhealth db check'.
	// Empty when the damage was found otherwise (header, size, a page met
	// later by a read).
	Problems []string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state file %s is damaged (%s); restore it from a copy made with 'tokenhealth db backup', "+
		"or move it aside (mv %s %s.damaged) to start with an empty state", e.Path, e.Reason, e.Path, e.Path)
}

// bbolt's on-disk header: a 16-byte page header followed by the meta record.
// Two meta pages (page 0 and page 1) alternate between commits; the valid one
// with the higher transaction id is current.
const (
	pageHeaderSize = 16
	metaSize       = 64 // up to and including the checksum
	metaSumOffset  = 56 // the checksum covers the bytes before it
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
)

type metaHeader struct {
	valid    bool
	reason   string
	pageSize uint32
	root     uint64 // page of the root bucket
	freelist uint64 // page of the free list, or noFreelist
	pgid     uint64 // high-water mark: the file must hold pgid pages
	txid     uint64
}

// bbolt's page header: id (8 bytes), flags (2), count (2), overflow (4).
const (
	freelistPageFlag = 0x10
	noFreelist       = ^uint64(0) // NoFreelistSync: the free list is not on disk
)

// preflight inspects the header of an existing file before bbolt maps it.
// bbolt trusts the header: a file truncated below its high-water mark would
// be mapped past its end and the first access to a missing page kills the
// process with SIGBUS, so truncation has to be caught here, in plain reads.
func preflight(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open state file %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat state file %s: %w", path, err)
	}
	if info.IsDir() {
		return fmt.Errorf("state file %s is a directory", path)
	}
	size := info.Size()
	if size == 0 {
		return nil // bbolt initialises an empty file
	}
	m0 := readMeta(f, 0)
	candidates := []int64{4096, 8192, 16384, 32768, 65536}
	if m0.valid {
		candidates = []int64{int64(m0.pageSize)}
	}
	best := m0
	for _, off := range candidates {
		m1 := readMeta(f, off)
		if m1.valid && (!best.valid || m1.txid > best.txid) {
			best = m1
			break
		}
	}
	if !best.valid {
		return &CorruptError{Path: path, Reason: "not a bbolt database, or both of its header pages are damaged: " + m0.reason}
	}
	if need := int64(best.pgid) * int64(best.pageSize); size < need {
		return &CorruptError{Path: path, Reason: fmt.Sprintf("file is truncated: its header says %d bytes but it has %d", need, size)}
	}
	return checkFreelistPage(f, best, path)
}

// checkFreelistPage reads the header of the free-list page: bbolt loads it
// inside bolt.Open and panics, holding the file lock, when it is not a
// free-list page.
func checkFreelistPage(r io.ReaderAt, m metaHeader, path string) error {
	if m.freelist == noFreelist {
		return nil
	}
	damaged := func(what string) error {
		return &CorruptError{Path: path, Reason: fmt.Sprintf("the free-list page %d %s", m.freelist, what)}
	}
	if m.freelist < 2 || m.freelist >= m.pgid {
		return damaged(fmt.Sprintf("is outside the file's %d pages (the header is damaged)", m.pgid))
	}
	hdr := make([]byte, pageHeaderSize)
	if _, err := r.ReadAt(hdr, int64(m.freelist)*int64(m.pageSize)); err != nil {
		return damaged("cannot be read: " + err.Error())
	}
	id := binary.NativeEndian.Uint64(hdr[0:8])
	flags := binary.NativeEndian.Uint16(hdr[8:10])
	if id != m.freelist || flags != freelistPageFlag {
		return damaged(fmt.Sprintf("is damaged (it reads as page %d with flags %#x)", id, flags))
	}
	return nil
}

func readMeta(r io.ReaderAt, offset int64) metaHeader {
	buf := make([]byte, pageHeaderSize+metaSize)
	if _, err := r.ReadAt(buf, offset); err != nil {
		return metaHeader{reason: "header page is incomplete"}
	}
	m := buf[pageHeaderSize:]
	// bbolt writes its header in the machine's byte order.
	le := binary.NativeEndian
	if le.Uint32(m[0:4]) != boltMagic {
		return metaHeader{reason: "no bbolt signature"}
	}
	if v := le.Uint32(m[4:8]); v != boltVersion {
		return metaHeader{reason: fmt.Sprintf("bbolt format version %d, expected %d", v, boltVersion)}
	}
	h := fnv.New64a()
	h.Write(m[:metaSumOffset])
	if h.Sum64() != le.Uint64(m[metaSumOffset:metaSumOffset+8]) {
		return metaHeader{reason: "header checksum mismatch"}
	}
	return metaHeader{
		valid:    true,
		pageSize: le.Uint32(m[8:12]),
		root:     le.Uint64(m[16:24]),
		freelist: le.Uint64(m[32:40]),
		pgid:     le.Uint64(m[40:48]),
		txid:     le.Uint64(m[48:56]),
	}
}
