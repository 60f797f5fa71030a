package graph

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	khttp "github.com/microsoft/kiota-http-go"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

// Limits is a tenant's Graph request budget. The defaults are Microsoft's
// published limits (learn.microsoft.com/graph/throttling-limits); staying
// under them costs a little latency and avoids 429s, which Graph may
// answer below the limits anyway, hence the backoff.
type Limits struct {
	// CAPerSecond: Conditional Access policy and named location reads
	// (1 per second per tenant; the 429 has no Retry-After).
	CAPerSecond float64
	// SignInsPerWindow per SignInWindow: sign-in log reads (5 per 10 s).
	SignInsPerWindow int
	SignInWindow     time.Duration
	// DirectoryPerWindow per DirectoryWindow: directory reads, one resource
	// unit each (3,500 per 10 s is the smallest tenant size's allowance).
	DirectoryPerWindow int
	DirectoryWindow    time.Duration
	// MaxThrottleRetries is how often one request is re-sent after a 429.
	MaxThrottleRetries int
	// MaxBackoff caps the wait after a 429 without Retry-After.
	MaxBackoff time.Duration
	// Headroom is the fraction of each rate left unused (0.1 spaces CA
	// reads 1.11 s apart), so network jitter between the agent's clock and
	// Graph's counting does not turn an on-time request into a 429.
	Headroom float64
}

// DefaultLimits returns Graph's published limits.
func DefaultLimits() Limits {
	return Limits{
		CAPerSecond: 1, SignInsPerWindow: 5, SignInWindow: 10 * time.Second,
		DirectoryPerWindow: 3500, DirectoryWindow: 10 * time.Second,
		MaxThrottleRetries: 3, MaxBackoff: 30 * time.Second, Headroom: 0.1,
	}
}

func (l Limits) validate() error {
	switch {
	case l.CAPerSecond <= 0:
		return fmt.Errorf("limits: CAPerSecond %v must be positive", l.CAPerSecond)
	case l.SignInsPerWindow <= 0 || l.SignInWindow <= 0:
		return fmt.Errorf("limits: SignInsPerWindow %d per %s must both be positive", l.SignInsPerWindow, l.SignInWindow)
	case l.DirectoryPerWindow <= 0 || l.DirectoryWindow <= 0:
		return fmt.Errorf("limits: DirectoryPerWindow %d per %s must both be positive", l.DirectoryPerWindow, l.DirectoryWindow)
	case l.MaxThrottleRetries < 0:
		return fmt.Errorf("limits: MaxThrottleRetries %d must not be negative", l.MaxThrottleRetries)
	case l.MaxBackoff <= 0:
		return fmt.Errorf("limits: MaxBackoff %s must be positive", l.MaxBackoff)
	case l.Headroom < 0 || l.Headroom >= 1:
		return fmt.Errorf("limits: Headroom %v: want 0 <= headroom < 1", l.Headroom)
	}
	return nil
}

// Bucket names a throttling category.
type Bucket string

const (
	BucketCA        Bucket = "conditionalAccess"
	BucketSignIns   Bucket = "signIns"
	BucketDirectory Bucket = "directory"
)

// bucketFor classifies a Graph URL path.
func bucketFor(path string) Bucket {
	switch {
	case strings.Contains(path, "/identity/conditionalAccess/"):
		return BucketCA
	case strings.Contains(path, "/auditLogs/signIns"):
		return BucketSignIns
	}
	return BucketDirectory
}

// Budget holds one tenant's token buckets. Requests reserve a token and
// wait on the clock until it is theirs, so concurrent readers of one
// tenant queue instead of tripping the limit together.
type Budget struct {
	clock  clock.Clock
	limits Limits
	log    *slog.Logger

	mu      sync.Mutex
	buckets map[Bucket]*bucket
	stats   BudgetStats
}

// BudgetStats counts what the budget did, for metrics and benchmarks.
type BudgetStats struct {
	Requests  int64         // requests sent
	Throttled int64         // 429 answers received
	Waited    time.Duration // total time requests spent waiting (clock time)
}

type bucket struct {
	capacity, rate float64 // tokens, tokens per second
	tokens         float64 // may go negative: reservations
	last           time.Time
	blockedUntil   time.Time // set by a 429
	strikes        int       // consecutive 429s without Retry-After
}

// NewBudget returns a full budget.
func NewBudget(c clock.Clock, l Limits) *Budget {
	now := c.Now()
	mk := func(capacity, perSecond float64) *bucket {
		return &bucket{capacity: capacity, rate: perSecond * (1 - l.Headroom), tokens: capacity, last: now}
	}
	return &Budget{clock: c, limits: l, log: slog.New(slog.DiscardHandler), buckets: map[Bucket]*bucket{
		// No burst for CA: Graph counts it per second.
		BucketCA:        mk(math.Max(1, math.Floor(l.CAPerSecond)), l.CAPerSecond),
		BucketSignIns:   mk(float64(l.SignInsPerWindow), float64(l.SignInsPerWindow)/l.SignInWindow.Seconds()),
		BucketDirectory: mk(float64(l.DirectoryPerWindow), float64(l.DirectoryPerWindow)/l.DirectoryWindow.Seconds()),
	}}
}

// Stats returns a copy of the counters.
func (b *Budget) Stats() BudgetStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// Idle reports whether the budget is what NewBudget would return now:
// every bucket full again and none closed or backing off after a 429. An
// idle budget can be dropped (with its Reader) and a fresh one built for
// the next pass without sending a request earlier than this one would.
func (b *Budget) Idle() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	for _, bk := range b.buckets {
		tokens := bk.tokens
		if dt := now.Sub(bk.last); dt > 0 {
			tokens += dt.Seconds() * bk.rate
		}
		if tokens < bk.capacity || now.Before(bk.blockedUntil) || bk.strikes > 0 {
			return false
		}
	}
	return true
}

// reserve takes one token of k and returns how long to wait until it is
// usable (after any 429 block).
func (b *Budget) reserve(k Bucket) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[k]
	now := b.clock.Now()
	if dt := now.Sub(bk.last); dt > 0 {
		bk.tokens = math.Min(bk.capacity, bk.tokens+dt.Seconds()*bk.rate)
		bk.last = now
	}
	bk.tokens--
	var wait time.Duration
	if bk.tokens < 0 {
		wait = time.Duration(-bk.tokens / bk.rate * float64(time.Second))
	}
	if block := bk.blockedUntil.Sub(now); block > wait {
		wait = block
	}
	b.stats.Requests++
	b.stats.Waited += wait
	return wait
}

// Wait reserves a token of k and blocks until it may be used.
func (b *Budget) Wait(ctx context.Context, k Bucket) error {
	d := b.reserve(k)
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-b.clock.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// throttled records a 429 on k and returns how long the bucket is closed:
// Retry-After when the answer had one, otherwise exponential backoff from
// the bucket's interval (at least 1 s; the CA-policies 429 never says),
// capped at MaxBackoff.
func (b *Budget) throttled(k Bucket, retryAfter time.Duration, hasRetryAfter bool) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[k]
	b.stats.Throttled++
	d := retryAfter
	if !hasRetryAfter {
		// Graph's own interval may be longer than ours (our limits are
		// configurable), so back off from at least a second and double.
		bk.strikes++
		step := max(time.Duration(float64(time.Second)/bk.rate), time.Second)
		d = min(step<<min(bk.strikes-1, 16), b.limits.MaxBackoff)
	}
	now := b.clock.Now()
	bk.blockedUntil = now.Add(d)
	bk.tokens = math.Min(bk.tokens, 0)
	return d
}

// succeeded resets the backoff of k.
func (b *Budget) succeeded(k Bucket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buckets[k].strikes = 0
}

type budgetKey struct{}

// budgetMiddleware spends the request's tenant budget (from the context)
// before each attempt and re-sends a throttled request once the budget
// reopens, up to MaxThrottleRetries. Requests without a budget pass.
type budgetMiddleware struct{}

func (budgetMiddleware) Intercept(p khttp.Pipeline, idx int, req *http.Request) (*http.Response, error) {
	b, _ := req.Context().Value(budgetKey{}).(*Budget)
	if b == nil {
		return p.Next(req, idx)
	}
	// Graph answers 429 before reading the body, so the transport may still
	// be sending the previous attempt's body when the answer arrives: each
	// attempt gets its own copy of the request and a fresh body reader.
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
	}
	k := bucketFor(req.URL.Path)
	for attempt := 0; ; attempt++ {
		if err := b.Wait(req.Context(), k); err != nil {
			return nil, err
		}
		resp, err := p.Next(attemptOf(req, body), idx)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			if err == nil {
				b.succeeded(k)
			}
			return resp, err
		}
		ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"))
		wait := b.throttled(k, ra, ok)
		b.log.Info("Graph throttled a request; backing off", "bucket", string(k), "retry_after_header", ok,
			"wait", wait, "attempt", attempt+1, "path", req.URL.Path)
		if attempt >= b.limits.MaxThrottleRetries {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
	}
}

// attemptOf returns a copy of req carrying its own reader over body.
func attemptOf(req *http.Request, body []byte) *http.Request {
	r := req.Clone(req.Context())
	if body == nil {
		return r
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	return r
}

// parseRetryAfter reads delay-seconds or an HTTP date (wall clock, as the
// server wrote it); ok is false when the header is absent or invalid.
func parseRetryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}
