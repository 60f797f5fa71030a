package entrasim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// graphRequest is one Graph call after its bearer token was accepted.
type graphRequest struct {
	g       *graphAPI
	w       http.ResponseWriter
	r       *http.Request
	version string // "v1.0" or "beta"
	tenant  *Tenant
	claims  *AccessClaims
	now     time.Time
	reqID   string
	status  int
}

type graphHandler func(rc *graphRequest)

// odataContentType is what Graph sends; kiota only looks at the media type
// before the first ';', and a missing Content-Type makes it return nil.
const odataContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// writeGraphHeaders sets the headers every Graph response carries.
func writeGraphHeaders(w http.ResponseWriter, r *http.Request, reqID string) {
	h := w.Header()
	h.Set("Content-Type", odataContentType)
	h.Set("request-id", reqID)
	if c := r.Header.Get("client-request-id"); c != "" {
		h.Set("client-request-id", c)
	}
}

// odataError is Graph's error body. msgraph-sdk-go's ODataError.Error()
// dereferences error.message, so every error here carries both fields.
func odataError(code, message string, now time.Time, reqID, clientReqID string) map[string]any {
	if clientReqID == "" {
		clientReqID = reqID
	}
	return map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]string{
			"date": now.UTC().Format("2006-01-02T15:04:05"), "request-id": reqID, "client-request-id": clientReqID,
		},
	}}
}

// writeODataError writes an OData error outside a graphRequest (before the
// token was accepted).
func writeODataError(w http.ResponseWriter, r *http.Request, status int, code, message string, now time.Time) {
	reqID := newGUID()
	writeGraphHeaders(w, r, reqID)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(odataError(code, message, now, reqID, r.Header.Get("client-request-id")))
}

// fail answers with an OData error.
func (rc *graphRequest) fail(status int, code, message string) {
	rc.status = status
	writeGraphHeaders(rc.w, rc.r, rc.reqID)
	rc.w.WriteHeader(status)
	_ = json.NewEncoder(rc.w).Encode(odataError(code, message, rc.now, rc.reqID, rc.r.Header.Get("client-request-id")))
}

func (rc *graphRequest) badRequest(format string, args ...any) {
	rc.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf(format, args...))
}

func (rc *graphRequest) notFound(id string) {
	rc.fail(http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

// reply writes a 200 JSON body.
func (rc *graphRequest) reply(v any) {
	rc.status = http.StatusOK
	writeGraphHeaders(rc.w, rc.r, rc.reqID)
	rc.w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(rc.w).Encode(v)
}

// contextURL is the @odata.context of a response, on the request's host.
func (rc *graphRequest) contextURL(fragment string) string {
	return "https://" + graphHost(rc.r) + "/" + rc.version + "/$metadata#" + fragment
}

// graphHost is the host the client used: 127.0.0.1:PORT in mode A,
// graph.microsoft.com in mode B. nextLinks must name it, because the SDK
// follows them verbatim and only authenticates to its valid hosts.
func graphHost(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return "graph.microsoft.com"
}

// pageParams are $top and $skiptoken of a collection request.
type pageParams struct {
	top    int
	offset int
	// asOf pins a time-ordered collection (sign-ins) to the moment the
	// first page was read, so records arriving later do not shift pages.
	asOf time.Time
}

// maxTop is the largest $top Graph accepts on the collections simulated.
const maxTop = 999

// pageParams reads $top (default def) and $skiptoken.
func (rc *graphRequest) pageParams(def int) (pageParams, bool) {
	q := rc.r.URL.Query()
	p := pageParams{top: def, asOf: rc.now}
	if s := q.Get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxTop {
			rc.badRequest("Invalid value '%s' for $top: want an integer from 1 to %d.", s, maxTop)
			return p, false
		}
		p.top = n
	}
	if tok := q.Get("$skiptoken"); tok != "" {
		off, asOf, err := parseSkipToken(tok)
		if err != nil {
			rc.badRequest("Invalid $skiptoken.")
			return p, false
		}
		p.offset, p.asOf = off, asOf
	}
	return p, true
}

func skipToken(offset int, asOf time.Time) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + ":" + strconv.FormatInt(asOf.UnixNano(), 10)))
}

func parseSkipToken(tok string) (int, time.Time, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, time.Time{}, err
	}
	offS, asOfS, ok := strings.Cut(string(b), ":")
	off, err1 := strconv.Atoi(offS)
	ns, err2 := strconv.ParseInt(asOfS, 10, 64)
	if !ok || err1 != nil || err2 != nil || off < 0 {
		return 0, time.Time{}, fmt.Errorf("malformed skip token")
	}
	return off, time.Unix(0, ns).UTC(), nil
}

// nextLink is the absolute URL of the page after p: the request's own URL
// on the same host with $skiptoken replaced.
func (rc *graphRequest) nextLink(p pageParams) string {
	var parts []string
	for _, kv := range strings.Split(rc.r.URL.RawQuery, "&") {
		if kv == "" || strings.HasPrefix(kv, "$skiptoken=") || strings.HasPrefix(strings.ToLower(kv), "%24skiptoken=") {
			continue
		}
		parts = append(parts, kv)
	}
	parts = append(parts, "$skiptoken="+skipToken(p.offset+p.top, p.asOf))
	return "https://" + graphHost(rc.r) + rc.r.URL.EscapedPath() + "?" + strings.Join(parts, "&")
}

// replyPage writes one page of items (already filtered and ordered) with
// @odata.nextLink when more remain.
func (rc *graphRequest) replyPage(contextFragment string, items []any, p pageParams) {
	body := map[string]any{"@odata.context": rc.contextURL(contextFragment)}
	start := min(p.offset, len(items))
	end := min(start+p.top, len(items))
	if end < len(items) {
		body["@odata.nextLink"] = rc.nextLink(p)
	}
	page := items[start:end]
	if page == nil {
		page = []any{}
	}
	body["value"] = page
	rc.reply(body)
}

// selectFields reads $select and checks each name against the type's
// properties (case-insensitive, as Graph matches them). It returns the
// canonical names; nil means "no $select".
func (rc *graphRequest) selectFields(typeName string, known []string) ([]string, bool) {
	s := rc.r.URL.Query().Get("$select")
	if s == "" {
		return nil, true
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		found := ""
		for _, k := range known {
			if strings.EqualFold(k, f) {
				found = k
			}
		}
		if found == "" {
			rc.badRequest("Could not find a property named '%s' on type 'microsoft.graph.%s'.", f, typeName)
			return nil, false
		}
		out = append(out, found)
	}
	return out, true
}

// project keeps the selected properties of obj (plus @odata.type and id,
// which Graph always returns). sel nil keeps defaults, or all when
// defaults is nil.
func project(obj map[string]any, sel, defaults []string) map[string]any {
	keep := sel
	if keep == nil {
		keep = defaults
	}
	if keep == nil {
		return obj
	}
	out := map[string]any{}
	for _, k := range append([]string{"@odata.type", "id"}, keep...) {
		if v, ok := obj[k]; ok {
			out[k] = v
		}
	}
	return out
}

// projectRaw applies $select to a raw Graph JSON object.
func projectRaw(raw json.RawMessage, sel []string) any {
	if sel == nil {
		return raw
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return raw
	}
	out := map[string]json.RawMessage{}
	for _, k := range append([]string{"@odata.type", "id"}, sel...) {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// Duration is a time.Duration that JSON writes as "10s" and reads from a
// string ("10s", "2d") or a number of seconds.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var secs float64
	if err := json.Unmarshal(b, &secs); err == nil {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string like \"10s\" or a number of seconds")
	}
	v, err := parseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want a duration like 10s or 2d", s)
	}
	*d = Duration(v)
	return nil
}

func errUnknownTenant(id string) error {
	return fmt.Errorf("tenant %q: %w", id, ErrNotFound)
}
