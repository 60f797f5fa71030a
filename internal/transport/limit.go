package transport

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// DefaultMaxResponseBytes caps one response body. The largest answers the
// agent reads are a page of 999 beta sign-ins (a few MiB) and a tenant's
// Conditional Access policies (well under 1 MiB per page); 16 MiB leaves
// room for both while a misbehaving proxy, endpoint or attacker streaming
// an endless body cannot exhaust the daemon's memory.
const DefaultMaxResponseBytes int64 = 16 << 20

// ErrResponseTooLarge is returned (wrapped in *ResponseTooLargeError) when
// a response body is longer than the cap.
var ErrResponseTooLarge = errors.New("response body too large")

// ResponseTooLargeError names the request whose answer was cut off. It
// carries only the method and host: a query string can hold identifiers
// that have no place in a log line.
type ResponseTooLargeError struct {
	Method string
	Host   string
	Limit  int64
}

// ErrResponseTooLargeText is the fixed part of the error's message, for
// callers behind libraries that flatten errors to text (MSAL).
const ErrResponseTooLargeText = "response body exceeds"

func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("%s %s: %s the %s limit; refusing to read more", e.Method, e.Host, ErrResponseTooLargeText, formatBytes(e.Limit))
}

func (e *ResponseTooLargeError) Unwrap() error { return ErrResponseTooLarge }

// LimitResponses wraps rt so that no response body can be read past max
// bytes: a Content-Length above max fails the round trip at once, and a
// body without one (chunked, endless) fails its Read with a
// *ResponseTooLargeError once max bytes have been consumed. Libraries
// that read whole bodies (MSAL, kiota, slack-go) then return that error
// instead of growing without bound. A nil rt means http.DefaultTransport;
// max <= 0 means DefaultMaxResponseBytes.
func LimitResponses(rt http.RoundTripper, max int64) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	if max <= 0 {
		max = DefaultMaxResponseBytes
	}
	return &limitTransport{next: rt, max: max}
}

type limitTransport struct {
	next http.RoundTripper
	max  int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	tooLarge := &ResponseTooLargeError{Method: req.Method, Host: req.URL.Host, Limit: t.max}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, tooLarge
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max, err: tooLarge}
	return resp, nil
}

// Unwrap returns the wrapped transport, for callers that need its TLS
// configuration (the SMTP notifier trusts the same roots).
func (t *limitTransport) Unwrap() http.RoundTripper { return t.next }

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// pooled transport underneath.
func (t *limitTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// limitedBody passes through up to left bytes and then fails, unless the
// body ends exactly at the limit.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.left <= 0 {
		// At the limit: one more byte means the body is too long; EOF means
		// it was exactly the limit.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, b.err
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

func formatBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
