package transport

import (
	"bytes"
	"container/list"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MSAL Go resolves its authority again in every new client: against the
// production hosts it GETs the instance discovery document
// (/common/discovery/instance?api-version=1.1&authorization_endpoint=...)
// and the tenant's OpenID configuration
// (/{tenant}/v2.0/.well-known/openid-configuration) before the token POST,
// and caches both only inside that client. The prober keeps a bounded set
// of clients, so at thousands of tenants nearly every probe builds a new
// client and would pay three round trips instead of one. DiscoveryCache
// answers those two GETs from memory for a limited time; the token request
// and everything else go to the network unchanged.

// Defaults for DiscoveryOptions.
const (
	// DefaultDiscoveryTTL is how long a discovery document is served from
	// memory when the response gives no shorter max-age. Entra ID serves
	// these documents with max-age=86400.
	DefaultDiscoveryTTL = 24 * time.Hour
	// DefaultDiscoveryMaxEntries bounds the cached documents: two per
	// tenant, so 25,000 tenants.
	DefaultDiscoveryMaxEntries = 50000
	// maxCachedDiscoveryBody: a real discovery document is 1-3 KB; a larger
	// answer is passed through but not kept.
	maxCachedDiscoveryBody = 64 << 10
)

// DiscoveryOptions configure CacheDiscovery.
type DiscoveryOptions struct {
	// TTL is the longest time a document is served from memory; zero means
	// DefaultDiscoveryTTL. A response's max-age shortens it, never extends it.
	TTL time.Duration
	// MaxEntries bounds the cached documents, least recently used out
	// first; zero means DefaultDiscoveryMaxEntries.
	MaxEntries int
	// Now is the agent's clock; nil means time.Now.
	Now func() time.Time
}

// DiscoveryCache is an http.RoundTripper; see CacheDiscovery.
type DiscoveryCache struct {
	next http.RoundTripper
	ttl  time.Duration
	max  int
	now  func() time.Time

	mu        sync.Mutex
	order     *list.List               // of *discoveryEntry, most recent at the front
	byURL     map[string]*list.Element // by discoveryKey
	templates map[string]*bodyTemplate // interned bodies, by bodyTemplate.key
}

// discoveryEntry is one cached document. The body is stored as a template
// shared by every tenant whose document differs only by the tenant segment.
type discoveryEntry struct {
	key         string
	tenant      string
	body        *bodyTemplate
	contentType string // interned: one string for all entries
	expires     time.Time
}

// bodyTemplate is a body split at each occurrence of its tenant segment:
// joining parts with the tenant gives the exact bytes back. key encodes the
// parts unambiguously (length-prefixed) and the parts are substrings of it,
// so a template costs its key plus one slice header per part.
type bodyTemplate struct {
	key   string
	parts []string
	refs  int
}

// CacheDiscovery wraps next so the two MSAL discovery GETs are answered from
// a bounded, time-limited cache. Only a GET without credentials or body, of
// exactly those URL shapes, answered 200 and not marked no-store or
// no-cache, is kept; a failed, non-200 or oversized answer is passed
// through and never kept. Each hit is a fresh *http.Response with the exact
// body and the original Content-Type. Safe for concurrent use.
func CacheDiscovery(next http.RoundTripper, opts DiscoveryOptions) *DiscoveryCache {
	if next == nil {
		next = http.DefaultTransport
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultDiscoveryTTL
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultDiscoveryMaxEntries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &DiscoveryCache{next: next, ttl: opts.TTL, max: opts.MaxEntries, now: opts.Now,
		order: list.New(), byURL: map[string]*list.Element{}, templates: map[string]*bodyTemplate{}}
}

// RoundTrip implements http.RoundTripper.
func (c *DiscoveryCache) RoundTrip(req *http.Request) (*http.Response, error) {
	key, tenant, ok := discoveryKey(req)
	if !ok {
		return c.next.RoundTrip(req)
	}
	if err := req.Context().Err(); err != nil {
		return nil, err // as the network would: a cancelled request gets no answer
	}
	if resp := c.lookup(key, req); resp != nil {
		return resp, nil
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	ttl, cacheable := c.lifetime(resp.Header)
	// A body still encoded (the caller asked for gzip itself) would be
	// replayed without its Content-Encoding: not kept.
	encoded := resp.Header.Get("Content-Encoding") != "" && !strings.EqualFold(resp.Header.Get("Content-Encoding"), "identity")
	if !cacheable || encoded || resp.ContentLength > maxCachedDiscoveryBody {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedDiscoveryBody+1))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if len(body) > maxCachedDiscoveryBody {
		// Hand the caller the whole answer, read or not, and keep nothing.
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	c.store(key, tenant, body, resp.Header.Get("Content-Type"), ttl)
	return resp, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Len returns the number of cached documents.
func (c *DiscoveryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// lifetime reads Cache-Control: no-store and no-cache forbid keeping the
// answer; max-age shortens the TTL (max-age=0 forbids keeping it).
func (c *DiscoveryCache) lifetime(h http.Header) (time.Duration, bool) {
	ttl := c.ttl
	for _, line := range h.Values("Cache-Control") {
		for _, directive := range strings.Split(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0, false
			case "max-age":
				secs, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
				if err != nil || secs <= 0 {
					return 0, false
				}
				// Compared in seconds first: a huge max-age must not
				// overflow time.Duration.
				if secs < int64(ttl/time.Second) {
					ttl = time.Duration(secs) * time.Second
				}
			}
		}
	}
	return ttl, true
}

// lookup returns a fresh response for a live entry, dropping an expired one.
func (c *DiscoveryCache) lookup(key string, req *http.Request) *http.Response {
	c.mu.Lock()
	el := c.byURL[key]
	if el == nil {
		c.mu.Unlock()
		return nil
	}
	e := el.Value.(*discoveryEntry)
	// Expired, or stored more than a TTL "in the future": the agent's
	// clock was set back that far, and the entry's age is unknown. A
	// smaller step back only keeps an entry longer by that step.
	if now := c.now(); !now.Before(e.expires) || now.Before(e.expires.Add(-2*c.ttl)) {
		c.removeLocked(el)
		c.mu.Unlock()
		return nil
	}
	c.order.MoveToFront(el)
	parts, tenant, ct := e.body.parts, e.tenant, e.contentType
	c.mu.Unlock()

	body := joinParts(parts, tenant)
	h := http.Header{}
	if ct != "" {
		h["Content-Type"] = []string{ct}
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		Request: req,
	}
}

// joinParts rebuilds a body into one new slice: the caller may keep or
// change it without touching the cache.
func joinParts(parts []string, tenant string) []byte {
	n := len(tenant) * (len(parts) - 1)
	for _, p := range parts {
		n += len(p)
	}
	body := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			body = append(body, tenant...)
		}
		body = append(body, p...)
	}
	return body
}

// store keeps body under key, sharing its template with other tenants.
func (c *DiscoveryCache) store(key, tenant string, body []byte, contentType string, ttl time.Duration) {
	parts := strings.Split(string(body), tenant) // tenant is never empty
	tkey := templateKey(parts)
	expires := c.now().Add(ttl)

	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.byURL[key]; el != nil {
		c.removeLocked(el)
	}
	tpl := c.templates[tkey]
	if tpl == nil {
		tpl = newTemplate(tkey, len(parts))
		c.templates[tkey] = tpl
	}
	tpl.refs++
	if contentType != "" {
		contentType = c.internContentType(contentType)
	}
	e := &discoveryEntry{key: key, tenant: tenant, body: tpl, contentType: contentType, expires: expires}
	c.byURL[key] = c.order.PushFront(e)
	for c.order.Len() > c.max {
		c.removeLocked(c.order.Back())
	}
}

// internContentType returns the Content-Type string an existing entry
// already holds, so 10,000 entries do not keep 10,000 copies of it.
func (c *DiscoveryCache) internContentType(ct string) string {
	if front := c.order.Front(); front != nil {
		if prev := front.Value.(*discoveryEntry).contentType; prev == ct {
			return prev
		}
	}
	return strings.Clone(ct)
}

func (c *DiscoveryCache) removeLocked(el *list.Element) {
	e := el.Value.(*discoveryEntry)
	c.order.Remove(el)
	delete(c.byURL, e.key)
	if e.body.refs--; e.body.refs == 0 {
		delete(c.templates, e.body.key)
	}
}

// templateKey encodes parts as "len:part" pairs: two different part lists
// never share a key, whatever bytes the parts hold.
func templateKey(parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}

// newTemplate decodes key back into parts that are substrings of key.
func newTemplate(key string, n int) *bodyTemplate {
	parts := make([]string, 0, n)
	for rest := key; len(parts) < n; {
		colon := strings.IndexByte(rest, ':')
		size, _ := strconv.Atoi(rest[:colon])
		parts = append(parts, rest[colon+1:colon+1+size])
		rest = rest[colon+1+size:]
	}
	return &bodyTemplate{key: key, parts: parts}
}

// discoveryKey accepts exactly the two discovery GETs and returns the cache
// key (the URL without fragment) and the tenant segment the body is
// compacted on.
func discoveryKey(req *http.Request) (key, tenant string, ok bool) {
	u := req.URL
	if req.Method != http.MethodGet || u == nil || u.Scheme != "https" || u.Host == "" || u.User != nil ||
		req.Header.Get("Authorization") != "" || req.Header.Get("Cookie") != "" ||
		(req.Body != nil && req.Body != http.NoBody) {
		return "", "", false
	}
	host := strings.ToLower(u.Host)
	switch {
	case u.Path == "/common/discovery/instance":
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil || len(q) != 2 || len(q["api-version"]) != 1 || len(q["authorization_endpoint"]) != 1 {
			return "", "", false
		}
		ae, err := url.Parse(q.Get("authorization_endpoint"))
		if err != nil || ae.Scheme != "https" {
			return "", "", false
		}
		seg, rest, _ := strings.Cut(strings.TrimPrefix(ae.Path, "/"), "/")
		if seg == "" || rest != "oauth2/v2.0/authorize" {
			return "", "", false
		}
		return sharedTenant("https://"+host+u.Path+"?"+u.RawQuery, seg)
	case strings.HasSuffix(u.Path, "/v2.0/.well-known/openid-configuration"):
		seg := strings.TrimSuffix(strings.TrimPrefix(u.Path, "/"), "/v2.0/.well-known/openid-configuration")
		if seg == "" || strings.Contains(seg, "/") || u.RawQuery != "" {
			return "", "", false
		}
		return sharedTenant("https://"+host+u.Path, seg)
	}
	return "", "", false
}

// sharedTenant returns the tenant as a substring of key when key spells it
// so, saving each entry a separate copy and keeping nothing of the request
// alive.
func sharedTenant(key, seg string) (string, string, bool) {
	if i := strings.Index(key, seg); i >= 0 {
		return key, key[i : i+len(seg)], true
	}
	return key, strings.Clone(seg), true
}
