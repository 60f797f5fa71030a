package entrasim

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// The Microsoft Graph side of the simulator lives in graph_*.go. It answers
// the reads the agent makes (CA policies, named locations, What If, users,
// memberships, domains, sign-in logs, per-user MFA) with the shapes, paging,
// errors and throttling of the real service, so that msgraph-sdk-go runs
// against it unmodified. Everything is read from the tenant model the
// identity side maintains; nothing here changes a tenant.

func init() { graphRouteRegistrars = append(graphRouteRegistrars, (*Server).registerGraph) }

// GraphLimits are the throttling limits and page sizes the Graph endpoints
// enforce, on the virtual clock. The defaults are Microsoft's published
// limits (learn.microsoft.com/graph/throttling-limits); benchmarks and
// tests change them through SetGraphLimits or PUT /_sim/graph/limits.
type GraphLimits struct {
	// CAPoliciesPerSecond is the Conditional Access read budget per tenant
	// (policies and named locations). Graph answers 429 without Retry-After
	// when it is exceeded. Zero disables the limit.
	CAPoliciesPerSecond float64 `json:"caPoliciesPerSecond"`
	// SignInsPerWindow requests per SignInWindow, per app per tenant, for
	// auditLogs/signIns (429 with Retry-After). Zero disables the limit.
	SignInsPerWindow int      `json:"signInsPerWindow"`
	SignInWindow     Duration `json:"signInWindow"`
	// DirectoryRU resource units per DirectoryWindow, per app per tenant,
	// for directory reads (users, memberships, domains, MFA state), each
	// costing DirectoryReadCost (429 with Retry-After). Zero disables.
	DirectoryRU       int      `json:"directoryRU"`
	DirectoryWindow   Duration `json:"directoryWindow"`
	DirectoryReadCost int      `json:"directoryReadCost"`
	// Default page sizes when the client sends no $top. Small defaults make
	// the demo tenants page, as large real tenants do.
	PolicyPageSize int `json:"policyPageSize"`
	SignInPageSize int `json:"signInPageSize"`
	MemberPageSize int `json:"memberPageSize"`
}

// DefaultGraphLimits returns Graph's published limits and small pages.
func DefaultGraphLimits() GraphLimits {
	return GraphLimits{
		CAPoliciesPerSecond: 1,
		SignInsPerWindow:    5, SignInWindow: Duration(10 * time.Second),
		DirectoryRU: 3500, DirectoryWindow: Duration(10 * time.Second), DirectoryReadCost: 1,
		PolicyPageSize: 2, SignInPageSize: 50, MemberPageSize: 2,
	}
}

// GraphTenantControls are per-tenant switches that make Graph misbehave
// the way real tenants do.
type GraphTenantControls struct {
	// NoP1Licence makes sign-in log reads fail with 403, as in a tenant
	// without Entra ID P1.
	NoP1Licence bool `json:"noP1Licence"`
	// SkipScopeCheck accepts tokens whatever their scp/roles say. By
	// default each endpoint requires its documented permission.
	SkipScopeCheck bool `json:"skipScopeCheck"`
	// CAEChallenge arms a continuous access evaluation challenge: the next
	// Graph request of the tenant answers 401 insufficient_claims, and the
	// token it carried stays rejected; a freshly issued token passes.
	CAEChallenge bool `json:"caeChallenge"`
}

// GraphStats counts what the Graph endpoints answered, for benchmarks.
type GraphStats struct {
	Requests  int64            `json:"requests"`
	Throttled map[string]int64 `json:"throttled"` // by bucket: ca, signIns, directory
	ByStatus  map[int]int64    `json:"byStatus"`
}

// graphAPI is the Graph endpoint state of one Server. Server (owned by the
// identity side) has no field for it, so servers find theirs in graphAPIs.
type graphAPI struct {
	s *Server

	mu       sync.Mutex
	limits   GraphLimits
	controls map[string]*GraphTenantControls // by tenant id
	// rejected holds fingerprints of tokens refused by a CAE challenge, per
	// tenant, so they keep failing while fresh ones pass.
	rejected map[string]map[[16]byte]bool
	buckets  map[bucketKey]*tokenBucket
	stats    GraphStats
}

var graphAPIs sync.Map // *Server -> *graphAPI

func (s *Server) graphAPI() *graphAPI {
	if g, ok := graphAPIs.Load(s); ok {
		return g.(*graphAPI)
	}
	// After Close the state is gone; answer with a detached default one
	// rather than panic in a caller's cleanup.
	return newGraphAPI(s)
}

func newGraphAPI(s *Server) *graphAPI {
	return &graphAPI{
		s: s, limits: DefaultGraphLimits(),
		controls: map[string]*GraphTenantControls{},
		rejected: map[string]map[[16]byte]bool{},
		buckets:  map[bucketKey]*tokenBucket{},
		stats:    GraphStats{Throttled: map[string]int64{}, ByStatus: map[int]int64{}},
	}
}

// GraphLimits returns the limits the Graph endpoints enforce now.
func (s *Server) GraphLimits() GraphLimits {
	g := s.graphAPI()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limits
}

// SetGraphLimits replaces the limits and empties every throttling bucket.
func (s *Server) SetGraphLimits(l GraphLimits) error {
	if err := l.validate(); err != nil {
		return err
	}
	g := s.graphAPI()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limits = l
	g.buckets = map[bucketKey]*tokenBucket{}
	return nil
}

// GraphControls returns the tenant's Graph switches (zero value if unset).
func (s *Server) GraphControls(tenantID string) GraphTenantControls {
	g := s.graphAPI()
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.controls[tenantID]; c != nil {
		return *c
	}
	return GraphTenantControls{}
}

// SetGraphControls replaces the tenant's Graph switches. Tokens rejected by
// an earlier CAE challenge stay rejected.
func (s *Server) SetGraphControls(tenantID string, c GraphTenantControls) error {
	t := s.Tenant(tenantID)
	if t == nil {
		return errUnknownTenant(tenantID)
	}
	g := s.graphAPI()
	g.mu.Lock()
	defer g.mu.Unlock()
	cp := c
	g.controls[t.ID] = &cp
	return nil
}

// GraphStats returns a copy of the request counters.
func (s *Server) GraphStats() GraphStats {
	g := s.graphAPI()
	g.mu.Lock()
	defer g.mu.Unlock()
	out := GraphStats{Requests: g.stats.Requests, Throttled: map[string]int64{}, ByStatus: map[int]int64{}}
	for k, v := range g.stats.Throttled {
		out.Throttled[k] = v
	}
	for k, v := range g.stats.ByStatus {
		out.ByStatus[k] = v
	}
	return out
}

func (g *graphAPI) count(status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stats.Requests++
	g.stats.ByStatus[status]++
}

// registerGraph mounts the v1.0 and beta endpoints and the /_sim/graph
// admin API.
func (s *Server) registerGraph() {
	g := newGraphAPI(s)
	graphAPIs.Store(s, g)
	s.OnClose(func() { graphAPIs.Delete(s) })
	for _, v := range []string{"v1.0", "beta"} {
		p := "/" + v
		ver := v
		route := func(method, path string, h graphHandler) {
			s.HandleFunc(method+" "+p+path, ClassGraph, g.serve(ver, h))
		}
		route("GET", "/identity/conditionalAccess/policies", g.listPolicies)
		route("GET", "/identity/conditionalAccess/policies/{id}", g.getPolicy)
		route("GET", "/identity/conditionalAccess/namedLocations", g.listNamedLocations)
		route("GET", "/identity/conditionalAccess/namedLocations/{id}", g.getNamedLocation)
		route("POST", "/identity/conditionalAccess/evaluate", g.evaluate)
		route("GET", "/users/{id}", g.getUser)
		route("GET", "/me", g.getUser)
		route("GET", "/users/{id}/transitiveMemberOf", g.transitiveMemberOf)
		route("GET", "/users/{id}/transitiveMemberOf/{cast}", g.transitiveMemberOf)
		route("GET", "/me/transitiveMemberOf", g.transitiveMemberOf)
		route("GET", "/me/transitiveMemberOf/{cast}", g.transitiveMemberOf)
		route("GET", "/domains", g.listDomains)
		route("GET", "/auditLogs/signIns", g.listSignIns)
		route("GET", "/auditLogs/signIns/{id}", g.getSignIn)
	}
	s.HandleFunc("GET /beta/users/{id}/authentication/requirements", ClassGraph, g.serve("beta", g.authenticationRequirements))
	// Other paths under the simulated subtrees answer in OData form too, so
	// a client never meets a text/plain body. (A catch-all "/v1.0/" would
	// conflict with the identity routes' "/{tenant}/..." patterns.)
	for _, v := range []string{"/v1.0", "/beta"} {
		for _, sub := range []string{"/users/{id}/", "/me/", "/identity/", "/auditLogs/", "/domains/"} {
			s.HandleFunc(v+sub+"{rest...}", ClassGraph, func(w http.ResponseWriter, r *http.Request) {
				writeODataError(w, r, http.StatusBadRequest, "BadRequest",
					"Resource not found for the segment '"+lastSegment(r.URL.Path)+"'.", g.s.Now())
			})
		}
	}
	g.registerAdmin()
}

func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}
