package entrasim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

// EndpointClass groups routes for fault injection.
type EndpointClass string

const (
	ClassToken EndpointClass = "token" // login.microsoftonline.com endpoints
	ClassGraph EndpointClass = "graph" // graph.microsoft.com endpoints
	ClassAdmin EndpointClass = "admin" // /_sim/: never faulted
	ClassOther EndpointClass = "other" // anything else (e.g. a Slack fake)
)

// FaultSpec describes the misbehaviour injected into one endpoint class.
// Probabilities are 0..1 and are tried in order: outage, reset, timeout,
// 429, 5xx; latency applies to every request that is answered.
type FaultSpec struct {
	Latency time.Duration `json:"-"`
	Jitter  time.Duration `json:"-"`
	// ErrorRate answers with ErrorStatus (default 503).
	ErrorRate   float64 `json:"errorRate"`
	ErrorStatus int     `json:"errorStatus"`
	// ThrottleRate answers 429; RetryAfter < 0 omits the Retry-After header
	// (as Graph does for CA policy reads), otherwise it is sent in seconds.
	ThrottleRate float64 `json:"throttleRate"`
	RetryAfter   int     `json:"retryAfterSeconds"`
	// TimeoutRate hangs the request until the client gives up.
	TimeoutRate float64 `json:"timeoutRate"`
	// ResetRate drops the connection without a response.
	ResetRate float64 `json:"resetRate"`
	// OutageUntil answers every request with 503 until this virtual time.
	OutageUntil time.Time `json:"outageUntil"`
}

// faultSpecJSON is the admin API form of FaultSpec.
type faultSpecJSON struct {
	Class        string  `json:"class"` // token, graph, other, all
	LatencyMs    int     `json:"latencyMs"`
	JitterMs     int     `json:"jitterMs"`
	ErrorRate    float64 `json:"errorRate"`
	ErrorStatus  int     `json:"errorStatus"`
	ThrottleRate float64 `json:"throttleRate"`
	RetryAfter   *int    `json:"retryAfterSeconds"` // null: no header
	TimeoutRate  float64 `json:"timeoutRate"`
	ResetRate    float64 `json:"resetRate"`
	OutageFor    string  `json:"outageFor"` // virtual duration, e.g. "2h"
	Clear        bool    `json:"clear"`
}

// FaultInjector holds the active FaultSpec per endpoint class and wraps
// handlers to apply it. The Graph routes reuse it through Server.Handle.
type FaultInjector struct {
	clock *clock.Virtual
	mu    sync.RWMutex
	specs map[EndpointClass]FaultSpec
}

func newFaultInjector(c *clock.Virtual) *FaultInjector {
	return &FaultInjector{clock: c, specs: map[EndpointClass]FaultSpec{}}
}

// Set replaces the spec for class.
func (f *FaultInjector) Set(class EndpointClass, spec FaultSpec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.specs[class] = spec
}

// Clear removes every injected fault of class.
func (f *FaultInjector) Clear(class EndpointClass) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.specs, class)
}

// Spec returns the active spec of class.
func (f *FaultInjector) Spec(class EndpointClass) (FaultSpec, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s, ok := f.specs[class]
	return s, ok
}

// Wrap returns h with the faults of class applied before it runs.
func (f *FaultInjector) Wrap(class EndpointClass, h http.Handler) http.Handler {
	if class == ClassAdmin {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		spec, ok := f.Spec(class)
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		now := f.clock.Now()
		if now.Before(spec.OutageUntil) {
			writeFault(w, class, http.StatusServiceUnavailable, -1, now)
			return
		}
		switch {
		case hit(spec.ResetRate):
			resetConnection(w)
			return
		case hit(spec.TimeoutRate):
			<-r.Context().Done() // the client's deadline, or the server closing
			return
		}
		if d := spec.Latency + jitter(spec.Jitter); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case hit(spec.ThrottleRate):
			writeFault(w, class, http.StatusTooManyRequests, spec.RetryAfter, now)
		case hit(spec.ErrorRate):
			status := spec.ErrorStatus
			if status < 500 || status > 599 {
				status = http.StatusServiceUnavailable
			}
			writeFault(w, class, status, -1, now)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

func hit(p float64) bool { return p > 0 && (p >= 1 || rand.Float64() < p) }

func jitter(j time.Duration) time.Duration {
	if j <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(j)))
}

// resetConnection drops the connection: HTTP/1 connections are hijacked
// and closed with a TCP reset; an HTTP/2 stream is reset by aborting the
// handler.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
	}
	_ = conn.Close()
}

// writeFault answers in the error format of the endpoint class so clients
// exercise their real error paths.
func writeFault(w http.ResponseWriter, class EndpointClass, status, retryAfter int, now time.Time) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if retryAfter >= 0 && status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.WriteHeader(status)
	now = now.UTC()
	switch class {
	case ClassToken:
		code, e, msg := 90033, "temporarily_unavailable", "A transient error has occurred. Please try again."
		if status == http.StatusTooManyRequests {
			code, e, msg = 90055, "temporarily_unavailable", "There are too many incoming requests. Please try again later."
		}
		_ = json.NewEncoder(w).Encode(newAADError(e, code, "", msg, now, "").body())
	default:
		code, msg := "serviceNotAvailable", "The service is temporarily unavailable."
		if status == http.StatusTooManyRequests {
			code, msg = "TooManyRequests", "Too many requests."
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"code": code, "message": msg,
			"innerError": map[string]string{"date": now.Format("2006-01-02T15:04:05"), "request-id": newGUID(), "client-request-id": newGUID()},
		}})
	}
}

// parseFaultRequest converts the admin JSON form into classes and a spec.
func parseFaultRequest(in faultSpecJSON, now time.Time) ([]EndpointClass, FaultSpec, error) {
	var classes []EndpointClass
	switch in.Class {
	case "token", "graph", "other":
		classes = []EndpointClass{EndpointClass(in.Class)}
	case "all":
		classes = []EndpointClass{ClassToken, ClassGraph, ClassOther}
	default:
		return nil, FaultSpec{}, fmt.Errorf("class %q: want token, graph, other or all", in.Class)
	}
	for name, p := range map[string]float64{"errorRate": in.ErrorRate, "throttleRate": in.ThrottleRate, "timeoutRate": in.TimeoutRate, "resetRate": in.ResetRate} {
		if p < 0 || p > 1 {
			return nil, FaultSpec{}, fmt.Errorf("%s %v: want 0..1", name, p)
		}
	}
	if in.LatencyMs < 0 || in.JitterMs < 0 {
		return nil, FaultSpec{}, fmt.Errorf("latencyMs and jitterMs must not be negative")
	}
	spec := FaultSpec{
		Latency: time.Duration(in.LatencyMs) * time.Millisecond, Jitter: time.Duration(in.JitterMs) * time.Millisecond,
		ErrorRate: in.ErrorRate, ErrorStatus: in.ErrorStatus, ThrottleRate: in.ThrottleRate, RetryAfter: -1,
		TimeoutRate: in.TimeoutRate, ResetRate: in.ResetRate,
	}
	if in.RetryAfter != nil {
		if *in.RetryAfter < 0 {
			return nil, FaultSpec{}, fmt.Errorf("retryAfterSeconds %d: must not be negative", *in.RetryAfter)
		}
		spec.RetryAfter = *in.RetryAfter
	}
	if in.OutageFor != "" {
		d, err := parseDuration(in.OutageFor)
		if err != nil || d <= 0 {
			return nil, FaultSpec{}, fmt.Errorf("outageFor %q: want a positive duration like 2h", in.OutageFor)
		}
		spec.OutageUntil = now.Add(d)
	}
	return classes, spec, nil
}
