package e2etest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Receiver is a fake HTTP endpoint for the notification integrations
// (Slack's Web API, a webhook): it keeps every request as received.
type Receiver struct {
	URL   string
	reply func(n int) string
	mu    sync.Mutex
	reqs  []Request
}

// Request is one request a Receiver got.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Form parses a form-encoded body (Slack's Web API); empty when it is not one.
func (q Request) Form() url.Values {
	v, err := url.ParseQuery(string(q.Body))
	if err != nil {
		return url.Values{}
	}
	return v
}

// NewReceiver starts a receiver answering each request with reply(n) as
// JSON, n counting requests from 1; a nil reply answers {}. It closes with
// the test.
func NewReceiver(t testing.TB, reply func(n int) string) *Receiver {
	r := &Receiver{reply: reply}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// SlackOK is Slack's answer to a posted message, with a distinct ts.
func SlackOK(n int) string {
	return fmt.Sprintf(`{"ok":true,"channel":"C1","ts":"%d.%06d"}`, time.Now().Unix(), n)
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, Request{Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone(), Body: body})
	n := len(r.reqs)
	r.mu.Unlock()
	answer := "{}"
	if r.reply != nil {
		answer = r.reply(n)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, answer)
}

// Requests returns the requests received so far, in order.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Any reports whether a request received so far matches.
func (r *Receiver) Any(match func(Request) bool) bool {
	for _, q := range r.Requests() {
		if match(q) {
			return true
		}
	}
	return false
}
