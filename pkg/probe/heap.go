package probe

import (
	"container/heap"
	"time"
)

// entry is one tenant in the scheduler. All fields belong to the
// scheduler's lock.
type entry struct {
	spec  Spec
	next  time.Time
	index int // position in the timer heap; -1 while in flight or removed

	state           State
	transients      int       // consecutive transient failures (debounce count)
	firstTransient  time.Time // start of the run of transient failures
	backoff         time.Duration
	inFlight        bool
	probeAgainAfter bool // ProbeNow arrived while in flight
	last            Result
	lastUpdate      time.Time
}

// timerHeap orders tenants by their next probe time. One heap and one armed
// timer serve every tenant: an idle tenant costs a heap slot, not a
// goroutine or a timer.
type timerHeap []*entry

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].next.Equal(h[j].next) {
		return h[i].spec.Target.TenantID < h[j].spec.Target.TenantID // stable order for tests
	}
	return h[i].next.Before(h[j].next)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*h = old[:n-1]
	return e
}

// schedule puts e in the heap at t, or moves it there if already queued.
func (h *timerHeap) schedule(e *entry, t time.Time) {
	e.next = t
	if e.index >= 0 {
		heap.Fix(h, e.index)
		return
	}
	heap.Push(h, e)
}

// remove takes e out of the heap if it is queued.
func (h *timerHeap) remove(e *entry) {
	if e.index >= 0 {
		heap.Remove(h, e.index)
	}
}
