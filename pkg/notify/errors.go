package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Failure reasons, the `reason` label of tokenhealth_notifications_failed_total.
const (
	FailRateLimited = "rate_limited" // 429 or a service's own rate limit
	FailServer      = "server_error" // 5xx or a service's internal error
	FailClient      = "client_error" // 4xx or a rejected request
	FailAuth        = "auth"         // the receiver rejects our credentials
	FailConfig      = "config"       // channel, recipient or URL does not exist
	FailConnection  = "connection"   // dial, TLS or timeout
	FailRender      = "render"       // the message could not be built
	FailExpired     = "expired"      // retried past the outbox's maximum age
)

// Error is what integrations return: the cause plus what the dispatcher
// needs to decide (reason for metrics, how long the receiver asked us to
// wait, and whether the receiver rejected our own configuration, which is an
// agent-health problem for the other receivers to hear about).
type Error struct {
	Integration string
	Reason      string
	// RetryAfter is the delay the receiver asked for (Retry-After, Slack's
	// rate limit); zero leaves the choice to the backoff.
	RetryAfter time.Duration
	// AgentHealth marks failures an operator must fix in our configuration
	// (credentials, channel): they raise a KindAgentHealth alert.
	AgentHealth bool
	Err         error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.Integration, e.Reason, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// AsError extracts an *Error, or classifies any other error as a
// connection failure (timeouts and dial errors) or a generic client error.
func AsError(integration string, err error) *Error {
	var ne *Error
	if errors.As(err, &ne) {
		return ne
	}
	reason := FailClient
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		reason = FailConnection
	}
	return &Error{Integration: integration, Reason: reason, Err: err}
}

// RetryableHTTP says whether an HTTP status is worth a retry: 5xx, 429 and
// 408 are; other 4xx (bad request, rejected credentials, gone) are not.
func RetryableHTTP(code int) bool {
	return code >= 500 || code == 429 || code == 408
}

// ReasonHTTP maps an HTTP status to a failure reason.
func ReasonHTTP(code int) string {
	switch {
	case code == 429:
		return FailRateLimited
	case code == 401 || code == 403:
		return FailAuth
	case code == 404 || code == 410:
		return FailConfig
	case code >= 500:
		return FailServer
	default:
		return FailClient
	}
}

// ParseRetryAfter reads a Retry-After header: delta seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := time.Parse(time.RFC1123, v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// HTTPError classifies a non-2xx answer: 5xx, 429 and 408 are retried
// (after Retry-After when given); 401/403/404/410 mean our configuration is
// wrong and raise an agent-health alert; other 4xx are dropped.
func HTTPError(integ string, resp *http.Response, snippet []byte) (bool, error) {
	code := resp.StatusCode
	text := strings.TrimSpace(string(snippet))
	if len(text) > 200 {
		text = text[:200]
	}
	msg := fmt.Sprintf("HTTP %d", code)
	if text != "" {
		msg += ": " + text
	}
	e := &Error{
		Integration: integ, Reason: ReasonHTTP(code), Err: errors.New(msg),
		RetryAfter:  ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		AgentHealth: code == 401 || code == 403 || code == 404 || code == 410,
	}
	return RetryableHTTP(code), e
}
