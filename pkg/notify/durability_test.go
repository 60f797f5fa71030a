package notify

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// idle reports whether Run has nothing it could do right now.
func (n *Notifier) idle() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.opts.Clock.Now()
	pending := map[string]bool{}
	for _, e := range n.state.outbox {
		pending[e.Message.ID] = true
	}
	for seq, e := range n.state.outbox {
		if n.busy[seq] {
			return false
		}
		if !e.dueAt().After(now) && !pending[e.Message.ThreadOf] {
			return false
		}
	}
	return true
}

type runner struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (h *harness) run() *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan struct{})}
	n := h.n
	go func() {
		defer close(r.done)
		if err := n.Run(ctx); err != nil {
			h.t.Error(err)
		}
	}()
	return r
}

func (r *runner) stop() { r.cancel(); <-r.done }

// settle waits (real time) until the running notifier is idle.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !h.n.idle() {
		if time.Now().After(deadline) {
			for _, e := range h.n.Outbox() {
				h.t.Logf("%+v busy=%v", e, h.n.busy)
			}
			h.t.Fatalf("notifier did not settle at %s", h.clk.Now())
		}
		h.n.kick() // a clock step may have raced with Run arming its timer
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond) // let Run re-arm its wait
}

func TestReceiverDownTenMinutesWithRestartDeliversEveryAlertExactlyOnce(t *testing.T) {
	h := newHarness(t, []string{"hook"}, func(o *Options) {
		o.GroupWindow = 20 * time.Second
	})
	var mu sync.Mutex
	down := true
	attempts := 0
	h.recv["hook"].setFail(func(*Message) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if down {
			return true, &Error{Integration: "fake", Reason: FailConnection, Err: errDown}
		}
		return false, nil
	})
	findings := map[string]health.Finding{}
	r := h.run()
	for i := range 20 {
		tn := fmt.Sprintf("tenant-%02d", i)
		kind := health.KindTokenFailing
		if i%2 == 1 {
			kind = health.KindPolicyBreaksNow
		}
		findings[tn] = finding(tn, kind, health.SeverityCritical, fmt.Sprintf("p%d", i))
		// Every tenant fired so far is re-evaluated at each probe round.
		for tn, f := range findings {
			h.eval(tn, f)
		}
		h.clk.Advance(30 * time.Second)
		h.settle()
		if i == 9 { // a process restart in the middle of the outage
			r.stop()
			h.restart()
			if got := len(h.n.Outbox()); got == 0 {
				t.Fatal("outbox empty after restart")
			}
			r = h.run()
		}
	}
	if got := len(h.recv["hook"].messages()); got != 0 {
		t.Fatalf("%d messages delivered while the receiver was down", got)
	}
	mu.Lock()
	down = false
	tried := attempts
	mu.Unlock()
	if tried == 0 {
		t.Fatal("no delivery was attempted during the outage")
	}
	for range 20 { // backoff is capped at 2 min: 10 min is plenty
		for tn, f := range findings {
			h.eval(tn, f)
		}
		h.clk.Advance(30 * time.Second)
		h.settle()
	}
	r.stop()
	seen := map[string]int{}
	for _, m := range h.recv["hook"].messages() {
		if m.Status != StatusFiring || m.Reason != ReasonNew {
			t.Errorf("unexpected %s/%s message", m.Status, m.Reason)
		}
		for _, a := range m.Alerts {
			seen[a.Key]++
		}
	}
	if len(seen) != 20 {
		t.Errorf("%d distinct alerts delivered, want 20", len(seen))
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("alert %s delivered %d times", k, c)
		}
	}
	if len(h.n.Outbox()) != 0 {
		t.Errorf("outbox not drained: %+v", h.n.Outbox())
	}
	// A second restart after delivery sends nothing again.
	before := len(h.recv["hook"].messages())
	h.restart()
	for tn, f := range findings {
		h.eval(tn, f)
	}
	h.step(time.Minute)
	h.step(time.Minute)
	if after := len(h.recv["hook"].messages()); after != before {
		t.Errorf("restart after delivery sent %d more messages", after-before)
	}
}
