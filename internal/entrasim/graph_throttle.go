package entrasim

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Throttling buckets. Each is a token bucket on the virtual clock, so a
// test that jumps time forward also refills it, as real time would.
const (
	bucketCA        = "ca"        // CA policies and named locations, per tenant
	bucketSignIns   = "signIns"   // auditLogs/signIns, per app per tenant
	bucketDirectory = "directory" // directory reads (resource units), per app per tenant
)

type bucketKey struct {
	kind, tenant, app string
}

// tokenBucket holds up to capacity tokens and refills rate tokens per
// second of virtual time.
type tokenBucket struct {
	capacity float64
	rate     float64
	tokens   float64
	last     time.Time
}

// take removes cost tokens at now, or reports how long until it could.
func (b *tokenBucket) take(now time.Time, cost float64) (bool, time.Duration) {
	if dt := now.Sub(b.last); dt > 0 { // a clock moved backwards refills nothing
		b.tokens = math.Min(b.capacity, b.tokens+dt.Seconds()*b.rate)
		b.last = now
	}
	if b.tokens >= cost {
		b.tokens -= cost
		return true, 0
	}
	wait := time.Duration((cost - b.tokens) / b.rate * float64(time.Second))
	return false, wait
}

// bucketSpec returns capacity and refill rate for kind under l; ok false
// means the limit is disabled.
func (l GraphLimits) bucketSpec(kind string) (capacity, rate float64, ok bool) {
	switch kind {
	case bucketCA:
		if l.CAPoliciesPerSecond <= 0 {
			return 0, 0, false
		}
		// Graph allows no burst on this limit: one token, refilled at the rate.
		return math.Max(1, l.CAPoliciesPerSecond), l.CAPoliciesPerSecond, true
	case bucketSignIns:
		if l.SignInsPerWindow <= 0 || l.SignInWindow <= 0 {
			return 0, 0, false
		}
		return float64(l.SignInsPerWindow), float64(l.SignInsPerWindow) / time.Duration(l.SignInWindow).Seconds(), true
	case bucketDirectory:
		if l.DirectoryRU <= 0 || l.DirectoryWindow <= 0 {
			return 0, 0, false
		}
		return float64(l.DirectoryRU), float64(l.DirectoryRU) / time.Duration(l.DirectoryWindow).Seconds(), true
	}
	return 0, 0, false
}

func (l GraphLimits) validate() error {
	switch {
	case l.CAPoliciesPerSecond < 0:
		return fmt.Errorf("caPoliciesPerSecond %v: must not be negative", l.CAPoliciesPerSecond)
	case l.SignInsPerWindow < 0:
		return fmt.Errorf("signInsPerWindow %d: must not be negative", l.SignInsPerWindow)
	case l.SignInsPerWindow > 0 && l.SignInWindow <= 0:
		return fmt.Errorf("signInWindow %s: must be positive when signInsPerWindow is set", time.Duration(l.SignInWindow))
	case l.DirectoryRU < 0:
		return fmt.Errorf("directoryRU %d: must not be negative", l.DirectoryRU)
	case l.DirectoryRU > 0 && l.DirectoryWindow <= 0:
		return fmt.Errorf("directoryWindow %s: must be positive when directoryRU is set", time.Duration(l.DirectoryWindow))
	case l.DirectoryReadCost < 0 || (l.DirectoryRU > 0 && l.DirectoryReadCost > l.DirectoryRU):
		return fmt.Errorf("directoryReadCost %d: want 0..directoryRU", l.DirectoryReadCost)
	case l.PolicyPageSize < 1 || l.PolicyPageSize > maxTop:
		return fmt.Errorf("policyPageSize %d: want 1..%d", l.PolicyPageSize, maxTop)
	case l.SignInPageSize < 1 || l.SignInPageSize > maxTop:
		return fmt.Errorf("signInPageSize %d: want 1..%d", l.SignInPageSize, maxTop)
	case l.MemberPageSize < 1 || l.MemberPageSize > maxTop:
		return fmt.Errorf("memberPageSize %d: want 1..%d", l.MemberPageSize, maxTop)
	}
	return nil
}

// allow charges the request to its bucket. When the bucket is empty it
// answers 429 (with Retry-After except for CA policies, which Graph
// throttles without one) and returns false.
func (rc *graphRequest) allow(kind string) bool {
	g := rc.g
	g.mu.Lock()
	capacity, rate, ok := g.limits.bucketSpec(kind)
	if !ok {
		g.mu.Unlock()
		return true
	}
	key := bucketKey{kind: kind, tenant: rc.tenant.ID}
	if kind != bucketCA {
		key.app = rc.claims.AppID
	}
	b := g.buckets[key]
	if b == nil {
		b = &tokenBucket{capacity: capacity, rate: rate, tokens: capacity, last: rc.now}
		g.buckets[key] = b
	}
	cost := 1.0
	if kind == bucketDirectory {
		cost = float64(g.limits.DirectoryReadCost)
	}
	allowed, wait := b.take(rc.now, cost)
	if !allowed {
		g.stats.Throttled[kind]++
	}
	g.mu.Unlock()
	if allowed {
		return true
	}
	if kind != bucketCA {
		secs := int(math.Ceil(wait.Seconds()))
		rc.w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	rc.fail(http.StatusTooManyRequests, "TooManyRequests",
		"Too many requests. The request has been throttled; please retry after some time.")
	return false
}
