package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
)

// enroll serves POST /v1/tenants/{id}/enroll as a newline-delimited JSON
// stream: the sign-in instruction must reach the operator while the flow
// is still pending, which a single reply cannot do.
func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	var req EnrollRequest
	if err := decode(r, &req); err != nil {
		s.answer(w, nil, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()

	st := &eventStream{w: w}
	out, err := s.backend.Enroll(ctx, r.PathValue("id"), req, st.send)
	if !st.begun() {
		// Refused before the flow began (unknown tenant, bad flow, an
		// enrollment already running): an ordinary status code.
		if err == nil {
			err = errors.New("the enrollment ended without starting")
		}
		s.answer(w, nil, err)
		return
	}
	if err != nil {
		ev := EnrollEvent{Type: EnrollError, Error: err.Error()}
		var ef *EnrollFailure
		if errors.As(err, &ef) {
			ev.Diagnosis = ef.Diagnosis
		}
		st.send(ev)
		return
	}
	st.send(EnrollEvent{Type: EnrollResult, Result: &out})
}

// eventStream writes one JSON object per line and flushes each, so the
// client sees every event as it happens.
type eventStream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	started bool
}

func (e *eventStream) send(ev EnrollEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.started {
		e.started = true
		e.w.Header().Set("Content-Type", "application/x-ndjson")
		e.w.Header().Set("Cache-Control", "no-store")
		e.w.WriteHeader(http.StatusOK)
	}
	// A write error means the client went away; the request context ends
	// with it and the flow stops.
	_ = json.NewEncoder(e.w).Encode(ev)
	if f, ok := e.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (e *eventStream) begun() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.started
}
