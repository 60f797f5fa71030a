package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
)

// Raw reads: the request is built by the SDK's request builders (or from
// a nextLink), sent through the same adapter, auth, middleware and budget,
// and the body is returned as Graph wrote it. See roundtrip_test.go for why
// policies and sign-ins are not passed through the SDK models.

// maxPages bounds a paged read; a tenant with more is reported, not read
// forever.
const maxPages = 1000

// sendRaw sends ri and returns the response body.
func (r *Reader) sendRaw(ctx context.Context, op operation, ri *abstractions.RequestInformation) ([]byte, error) {
	ri.Headers.TryAdd("Accept", "application/json")
	v, err := r.adapter.SendPrimitive(r.withBudget(ctx), ri, "[]byte", errorMapping)
	if err != nil {
		return nil, r.classify(op, err)
	}
	b, ok := v.([]byte)
	if !ok || len(b) == 0 {
		return nil, r.nilResult(op)
	}
	return b, nil
}

// collectRaw reads every page of a collection starting at first and
// returns the items as raw JSON objects. headers (name, value pairs) are
// sent with every page.
func (r *Reader) collectRaw(ctx context.Context, op operation, first *abstractions.RequestInformation, headers ...string) ([]json.RawMessage, error) {
	var out []json.RawMessage
	ri := first
	for page := 1; ; page++ {
		for i := 0; i+1 < len(headers); i += 2 {
			ri.Headers.TryAdd(headers[i], headers[i+1])
		}
		body, err := r.sendRaw(ctx, op, ri)
		if err != nil {
			return nil, err
		}
		var coll struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &coll); err != nil {
			return nil, &Error{Tenant: r.tenant, Op: op.name, Err: fmt.Errorf("page %d is not a Graph collection: %w", page, err)}
		}
		out = append(out, coll.Value...)
		if coll.NextLink == "" {
			return out, nil
		}
		if page >= maxPages {
			return nil, &Error{Tenant: r.tenant, Op: op.name, Err: fmt.Errorf("more than %d pages; stopped", maxPages)}
		}
		if ri, err = r.requestFor(abstractions.GET, coll.NextLink); err != nil {
			return nil, &Error{Tenant: r.tenant, Op: op.name, Err: err}
		}
	}
}

// requestFor builds a request for an absolute URL, which must be on the
// Reader's Graph host: a nextLink elsewhere would get no token (valid
// hosts) and is refused outright rather than sent unauthenticated.
func (r *Reader) requestFor(method abstractions.HttpMethod, rawURL string) (*abstractions.RequestInformation, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("link %q: %w", rawURL, err)
	}
	if u.Scheme+"://"+u.Host != r.base {
		return nil, fmt.Errorf("link to %s://%s is not on the Graph host %s", u.Scheme, u.Host, r.base)
	}
	ri := abstractions.NewRequestInformation()
	ri.Method = method
	ri.SetUri(*u)
	return ri, nil
}

// versionURL is an absolute URL under /v1.0 or /beta of the Graph host.
func (r *Reader) versionURL(version, path string, query ...string) string {
	u := r.base + "/" + version + path
	if len(query) > 0 {
		u += "?" + strings.Join(query, "&")
	}
	return u
}

// odataParam renders one query option with its value escaped the way the
// SDK does ($filter=userId%20eq%20%27...%27).
func odataParam(name, value string) string {
	return name + "=" + strings.ReplaceAll(url.QueryEscape(value), "+", "%20")
}
