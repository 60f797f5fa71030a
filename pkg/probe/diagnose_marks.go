package probe

import "sync"

// Every scanner looks for fixed lower-case marks ("aadsts", "trace id",
// "status code was", ...). Searching for each mark separately costs one
// pass over the text per mark; instead one pass records where every mark
// occurs, dispatching on the first two bytes through a table, and the
// scanners read the recorded positions. This keeps a classification at a
// few microseconds (BenchmarkDiagnose).

type markID uint8

// markList holds every registered mark; a markID indexes it.
var markList []string

// marks registers marks at package initialisation and returns their ids in
// the given order (scanners rely on that order: the first mark wins).
func marks(ss ...string) []markID {
	ids := make([]markID, len(ss))
	for i, s := range ss {
		if len(s) < 2 {
			panic("probe: mark shorter than two bytes: " + s)
		}
		for j, m := range markList {
			if m == s {
				ids[i] = markID(j)
				goto next
			}
		}
		if len(markList) == maxMarks {
			panic("probe: too many marks")
		}
		markList = append(markList, s)
		ids[i] = markID(len(markList) - 1)
	next:
	}
	return ids
}

func mark(s string) markID { return marks(s)[0] }

const (
	maxMarks       = 160
	maxHitsPerMark = 16 // later occurrences of one mark add nothing in practice
)

var (
	// firstRow maps a first byte to its row in pairRows (0: no mark starts
	// with it); pairRows[row][second byte] is 1 + the index of the bucket
	// of marks starting with those two bytes, or 0. Both stay in L1 cache.
	firstRow  [256]uint8
	pairRows  = make([][256]uint8, 1) // row 0: nothing starts here
	pairMarks [][]markID
)

func init() {
	for id, m := range markList {
		if firstRow[m[0]] == 0 {
			pairRows = append(pairRows, [256]uint8{})
			firstRow[m[0]] = uint8(len(pairRows) - 1)
		}
		row := &pairRows[firstRow[m[0]]]
		if row[m[1]] == 0 {
			pairMarks = append(pairMarks, nil)
			if len(pairMarks) > 255 {
				panic("probe: too many mark prefixes")
			}
			row[m[1]] = uint8(len(pairMarks))
		}
		b := row[m[1]] - 1
		pairMarks[b] = append(pairMarks[b], markID(id))
	}
	// Index the tables by raw bytes too, so build needs no case folding
	// for the two-byte dispatch: an upper-case letter shares the entries of
	// its lower-case twin.
	for c := 'A'; c <= 'Z'; c++ {
		lc := c + 'a' - 'A'
		firstRow[c] = firstRow[lc]
	}
	for r := range pairRows {
		for c := 'A'; c <= 'Z'; c++ {
			pairRows[r][c] = pairRows[r][c+'a'-'A']
		}
	}
}

// markIndex records the first positions of every mark in one text.
// Only n is reset between uses; pos beyond n is never read.
type markIndex struct {
	n   [maxMarks]uint8
	pos [maxMarks][maxHitsPerMark]int32
}

var markIndexPool = sync.Pool{New: func() any { return new(markIndex) }}

// getMarkIndex returns an index built over text; release it with
// putMarkIndex.
func getMarkIndex(text string) *markIndex {
	ix := markIndexPool.Get().(*markIndex)
	ix.n = [maxMarks]uint8{}
	ix.build(text)
	return ix
}

func putMarkIndex(ix *markIndex) { markIndexPool.Put(ix) }

// build records the marks, comparing case-insensitively (marks are lower
// case; the text is folded through lowerTab byte by byte, so offsets are
// the text's own).
func (ix *markIndex) build(text string) {
	for i := 0; i+1 < len(text); i++ {
		b := pairRows[firstRow[text[i]]][text[i+1]]
		if b == 0 {
			continue
		}
		for _, id := range pairMarks[b-1] {
			if m := markList[id]; len(m) <= len(text)-i && hasPrefixFold(text[i+2:], m[2:]) && ix.n[id] < maxHitsPerMark {
				ix.pos[id][ix.n[id]] = int32(i)
				ix.n[id]++
			}
		}
	}
}

// hits returns the start offsets of mark id, ascending.
func (ix *markIndex) hits(id markID) []int32 { return ix.pos[id][:ix.n[id]] }

func (ix *markIndex) has(id markID) bool { return ix.n[id] > 0 }

// hasAny reports whether any of the marks occurs.
func (ix *markIndex) hasAny(ids []markID) bool {
	for _, id := range ids {
		if ix.n[id] > 0 {
			return true
		}
	}
	return false
}
