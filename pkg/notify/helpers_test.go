package notify

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// recorder is a fake integration that records what it was sent and fails
// while down is set.
type recorder struct {
	mu      sync.Mutex
	msgs    []Message
	fail    func(m *Message) (bool, error)
	counter int
}

func (r *recorder) Notify(_ context.Context, m *Message) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if retry, err := r.fail(m); err != nil {
			return retry, err
		}
	}
	r.counter++
	m.PostedRef = fmt.Sprintf("post-%d", r.counter)
	r.msgs = append(r.msgs, *m)
	return false, nil
}

func (r *recorder) setFail(f func(m *Message) (bool, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = f
}

func (r *recorder) messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = nil
}

type harness struct {
	t    *testing.T
	path string
	db   *store.DB
	clk  *clock.Virtual
	recv map[string]*recorder
	opts Options
	n    *Notifier
}

var testKey = make([]byte, 32)

func newHarness(t *testing.T, receivers []string, mutate func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "state.db"), clk: clock.NewVirtual(t0, 0), recv: map[string]*recorder{}}
	var rs []Receiver
	var routes []Route
	for _, name := range receivers {
		rec := &recorder{}
		h.recv[name] = rec
		rs = append(rs, Receiver{Name: name, Type: "fake", Integration: rec})
		routes = append(routes, Route{Receiver: name})
	}
	h.opts = Options{
		Clock: h.clk, Receivers: rs, Routes: routes, GroupWindow: time.Minute,
		Jitter: func() float64 { return 0 }, BackoffInitial: 10 * time.Second, BackoffMax: 2 * time.Minute,
	}
	if mutate != nil {
		mutate(&h.opts)
	}
	h.open()
	t.Cleanup(func() { _ = h.db.Close() })
	return h
}

// open (re)opens the state file and builds a fresh notifier: a restart.
func (h *harness) open() {
	h.t.Helper()
	db, err := store.Open(h.path, store.Options{Key: testKey, Clock: h.clk})
	if err != nil {
		h.t.Fatal(err)
	}
	h.db = db
	h.opts.DB = db
	n, err := New(h.opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.n = n
}

func (h *harness) restart() {
	h.t.Helper()
	if err := h.db.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.open()
}

func (h *harness) eval(tenant string, fs ...health.Finding) {
	h.t.Helper()
	if err := h.n.Evaluate(tenant, fs); err != nil {
		h.t.Fatal(err)
	}
}

// step advances virtual time, re-checks and delivers what is due.
func (h *harness) step(d time.Duration) {
	h.t.Helper()
	h.clk.Advance(d)
	if err := h.n.Tick(); err != nil {
		h.t.Fatal(err)
	}
	h.n.Flush(context.Background())
}

func finding(tenant string, kind health.Kind, sev health.Severity, policy string) health.Finding {
	f := health.Finding{
		TenantID: tenant, TenantName: "Name of " + tenant, Kind: kind, Severity: sev,
		Summary: string(kind) + " in " + tenant, DetectedAt: t0,
		Remediation: []string{"Exclude the service account from the policy."},
	}
	if policy != "" {
		f.Policies = []health.PolicyRef{{ID: policy, DisplayName: "Policy " + policy, State: "enabled"}}
		f.Evidence = []string{"sign-in log shows " + policy}
	}
	return f
}

// summary renders messages compactly for exact comparisons:
// "firing/new/critical token_failing [t1 t2]".
func summary(ms []Message) []string {
	var out []string
	for _, m := range ms {
		var ts []string
		for _, a := range m.Alerts {
			ts = append(ts, a.Finding.TenantID)
		}
		out = append(out, fmt.Sprintf("%s/%s/%s %s %v", m.Status, m.Reason, m.Severity, m.Kind, ts))
	}
	return out
}

var errDown = errors.New("connection refused")
