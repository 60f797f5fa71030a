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
	pgid     uint64 // high-water mark: the file must hold pgid pages
	txid     uint64
}

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
		pgid:     le.Uint64(m[40:48]),
		txid:     le.Uint64(m[48:56]),
	}
}
