// Package graph reads a tenant through Microsoft Graph for the agent: CA
// policies, named locations, the service account, its memberships, domains,
// per-user MFA and sign-in logs. It is the only package that imports
// msgraph-sdk-go (a 4 GB, 2.5 minute compile): its API returns plain Go
// values and raw Graph JSON, so no other package ever compiles the SDK.
//
// One Reader per tenant, all sharing one *http.Client from NewHTTPClient
// (the shared pooled transport wrapped in the Graph middleware). Every
// request spends from the tenant's Budget, which keeps the tenant under
// Graph's published limits and backs off on 429 on the agent's clock.
package graph

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	graphauth "github.com/microsoftgraph/msgraph-sdk-go-core/authentication"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/transport"
)

// DefaultGraphURL is the public cloud's Graph host.
const DefaultGraphURL = "https://graph.microsoft.com"

// DefaultScope is the delegated scope the canary token is requested for.
const DefaultScope = "https://graph.microsoft.com/.default"

// Config describes one tenant's Reader.
type Config struct {
	// TenantID is the tenant GUID; it names the budget and the errors.
	TenantID string
	// Tokens supplies delegated access tokens for the tenant (the probe's
	// MSAL client). Claims from a CAE challenge are passed through.
	Tokens TokenSource
	// HTTPClient must come from NewHTTPClient: a plain client has no retry,
	// redirect or /me handling.
	HTTPClient *http.Client
	// GraphURL is the Graph root without version: DefaultGraphURL, a
	// sovereign cloud's (https://graph.microsoft.us), or the simulator's
	// https://127.0.0.1:PORT. Its host is the only one tokens are sent to.
	GraphURL string
	// Scopes requested for Graph tokens; default DefaultScope.
	Scopes []string
	// Clock times the budget and the backoff; default the wall clock.
	Clock clock.Clock
	// Limits: the zero value means DefaultLimits (Graph's published
	// limits); to change one, start from DefaultLimits().
	Limits Limits
	Logger *slog.Logger
}

// Reader reads one tenant. It is safe for concurrent use.
type Reader struct {
	tenant  string
	client  *msgraphsdk.GraphServiceClient
	adapter *msgraphsdk.GraphRequestAdapter
	base    string // https://host[:port]
	budget  *Budget
}

var registerPageErrors sync.Once

// NewReader builds the msgraph-sdk-go client for one tenant.
func NewReader(cfg Config) (*Reader, error) {
	if cfg.TenantID == "" {
		return nil, fmt.Errorf("graph: tenant id is required")
	}
	if cfg.Tokens == nil {
		return nil, fmt.Errorf("graph: tenant %s: a token source is required", cfg.TenantID)
	}
	if cfg.HTTPClient == nil {
		return nil, fmt.Errorf("graph: tenant %s: an HTTP client from NewHTTPClient is required", cfg.TenantID)
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = DefaultGraphURL
	}
	u, err := url.Parse(strings.TrimRight(cfg.GraphURL, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("graph: graph URL %q: want https://host[:port] without a path", cfg.GraphURL)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{DefaultScope}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	limits := cfg.Limits
	if limits == (Limits{}) {
		limits = DefaultLimits()
	}
	if err := limits.validate(); err != nil {
		return nil, fmt.Errorf("graph: tenant %s: %w", cfg.TenantID, err)
	}
	// Later pages of a page iterator map errors through this registry,
	// which msgraph-sdk-go never fills; without it they are bare ApiErrors.
	registerPageErrors.Do(func() {
		_ = msgraphcore.RegisterError(msgraphcore.PageIteratorErrorRegistryKey, errorMapping)
	})
	// Valid hosts: a host missing here would get requests without the
	// Authorization header, silently. Only the Graph host gets tokens.
	auth, err := graphauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(
		&credential{src: cfg.Tokens}, cfg.Scopes, []string{u.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph: tenant %s: auth provider: %w", cfg.TenantID, err)
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, cfg.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("graph: tenant %s: request adapter: %w", cfg.TenantID, err)
	}
	base := u.Scheme + "://" + u.Host
	adapter.SetBaseUrl(base + "/v1.0")
	budget := NewBudget(cfg.Clock, limits)
	budget.log = cfg.Logger.With("tenant", cfg.TenantID)
	return &Reader{
		tenant: cfg.TenantID, client: newServiceClient(adapter), adapter: adapter, base: base,
		budget: budget,
	}, nil
}

// Budget is the tenant's throttling budget (for metrics and tests).
func (r *Reader) Budget() *Budget { return r.budget }

// errorMapping turns every non-2xx Graph answer into *odataerrors.ODataError.
var errorMapping = abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// NewHTTPClient wraps the shared pooled transport (internal/transport) in
// the Graph middleware: telemetry, /me URL replacement, redirects,
// compression, the throttling budget, and a retry handler that retries
// 503/504 only. 429 is handled by the budget on the agent's clock instead,
// because the CA-policies 429 carries no Retry-After and the kiota handler
// would sleep on the wall clock. Build it once per process.
func NewHTTPClient(base http.RoundTripper) *http.Client {
	opts := msgraphsdk.GetDefaultClientOptions()
	mw := msgraphcore.GetDefaultMiddlewaresWithOptions(&opts)
	for i, m := range mw {
		if _, ok := m.(*khttp.RetryHandler); ok {
			mw[i] = khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
				MaxRetries: 2, DelaySeconds: 1, ShouldRetry: retryServerErrors,
			})
		}
	}
	// The budget sits last, next to the transport, so it sees every attempt
	// (including redirects and the CAE retry) and every raw 429.
	mw = append(mw, budgetMiddleware{})
	if base != nil {
		// kiota reads whole bodies: cap them so an endless answer is an
		// error, not an exhausted heap.
		base = transport.LimitResponses(base, transport.DefaultMaxResponseBytes)
	}
	return &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(base, mw...),
		// The redirect middleware follows redirects itself (and drops the
		// Authorization header across hosts); net/http must not.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// retryServerErrors is the retry handler's ShouldRetry (a nil one panics).
// It declines 429: the budget already retried it on the agent's clock.
func retryServerErrors(cumulative time.Duration, attempt int, _ *http.Request, resp *http.Response) bool {
	if resp == nil || resp.StatusCode == http.StatusTooManyRequests {
		return false
	}
	return cumulative < 10*time.Second
}

// withBudget attaches the Reader's budget to ctx for budgetMiddleware.
func (r *Reader) withBudget(ctx context.Context) context.Context {
	return context.WithValue(ctx, budgetKey{}, r.budget)
}

// newServiceClient is msgraphsdk.NewGraphServiceClient without its write
// of the SDK's global backing-store factory: that write races with every
// other tenant's reader deserializing a response (go test -race finds it
// as soon as a reader is created while another reads). The factory it
// would write is the default already in place.
func newServiceClient(adapter *msgraphsdk.GraphRequestAdapter) *msgraphsdk.GraphServiceClient {
	return &msgraphsdk.GraphServiceClient{GraphBaseServiceClient: *msgraphsdk.NewGraphBaseServiceClient(adapter, nil)}
}
