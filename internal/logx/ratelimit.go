// Package logx holds logging helpers for the daemon: a slog handler that
// rate-limits each message so a thousand failing tenants do not flood the
// journal.
package logx

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// RateLimit wraps a handler and lets through at most Burst records with the
// same message per Window; the rest are counted and the count is reported
// on the first record let through in the next window ("suppressed": N).
// Errors and records from different messages never suppress each other.
type RateLimit struct {
	next   slog.Handler
	state  *limitState
	burst  int
	window time.Duration
	now    func() time.Time
}

type limitState struct {
	mu      sync.Mutex
	entries map[string]*limitEntry
	sweep   time.Time
}

type limitEntry struct {
	start      time.Time
	count      int
	suppressed int
}

// NewRateLimit returns a handler that passes at most burst records per
// message per window to next.
func NewRateLimit(next slog.Handler, burst int, window time.Duration) *RateLimit {
	if burst < 1 {
		burst = 1
	}
	return &RateLimit{next: next, state: &limitState{entries: map[string]*limitEntry{}}, burst: burst, window: window, now: time.Now}
}

func (h *RateLimit) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *RateLimit) Handle(ctx context.Context, r slog.Record) error {
	suppressed, ok := h.admit(r.Level.String() + "\x00" + r.Message)
	if !ok {
		return nil
	}
	if suppressed > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return h.next.Handle(ctx, r)
}

// admit decides whether a record with this key may pass now, and how many
// were dropped since the last one that did.
func (h *RateLimit) admit(key string) (int, bool) {
	s := h.state
	now := h.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.sweep) > 10*h.window { // forget messages not seen for a while
		for k, e := range s.entries {
			if now.Sub(e.start) > h.window && e.suppressed == 0 {
				delete(s.entries, k)
			}
		}
		s.sweep = now
	}
	e := s.entries[key]
	if e == nil {
		e = &limitEntry{start: now}
		s.entries[key] = e
	}
	if now.Sub(e.start) >= h.window {
		e.start, e.count = now, 0
	}
	if e.count >= h.burst {
		e.suppressed++
		return 0, false
	}
	e.count++
	n := e.suppressed
	e.suppressed = 0
	return n, true
}

func (h *RateLimit) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	return &c
}

func (h *RateLimit) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}
