package entrasim

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

// ErrNotFound is wrapped by lookups and mutations naming a missing object.
var ErrNotFound = errors.New("not found")

// DefaultStart is the virtual time a scenario without "start" begins at
// when the simulator creates its own clock.
var DefaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Options configure a Server.
type Options struct {
	// Scenario to load; nil loads the embedded demo scenario.
	Scenario *Scenario
	// Clock is the virtual clock to share with an in-process agent; the
	// scenario's relative times then count from its time at New. When nil
	// the server creates one at the scenario's start running at Speed.
	Clock *clock.Virtual
	Speed float64
	// ExtraHostNames are added to the certificate's names (DNS or IP).
	ExtraHostNames []string
	// SignInMaxRecords and SignInRetention bound each tenant's sign-in log
	// (defaults DefaultSignInMaxRecords and DefaultSignInRetention).
	SignInMaxRecords int
	SignInRetention  time.Duration
	// SigningKeyBits is the RS256 key size (default 2048, as Entra). Load
	// tests may choose 1024: each grant signs two tokens, and RSA signing
	// is most of a grant's cost.
	SigningKeyBits int
	Logger         *slog.Logger
}

// Server is one simulated Entra ID + Graph service for many tenants. See
// the package documentation for how other files extend it.
type Server struct {
	opts    Options
	log     *slog.Logger
	clock   *clock.Virtual
	start   time.Time
	pki     *simPKI
	sign    *signer
	rtKey   []byte
	mux     *http.ServeMux
	faults  *FaultInjector
	events  *eventQueue
	tenants map[string]*Tenant // by id and by lower-case domain
	ordered []*Tenant

	browserSessions map[string]map[string]browserSession

	flowMu      sync.Mutex
	deviceCodes map[string]*deviceCodeGrant // by device_code
	userCodes   map[string]*deviceCodeGrant // by user_code
	authCodes   map[string]*authCodeGrant

	mu       sync.Mutex
	listener net.Listener
	httpSrv  *http.Server
	onClose  []func()
}

// OnClose registers f to run when Close is called, so that state kept
// outside the Server (such as a registry keyed by *Server) can be released.
func (s *Server) OnClose(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onClose = append(s.onClose, f)
}

// New builds the simulator from the scenario. It does not listen: call
// Listen, or mount Handler in a test server.
func New(opts Options) (*Server, error) {
	if opts.Scenario == nil {
		opts.Scenario = DemoScenario()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SignInMaxRecords <= 0 {
		opts.SignInMaxRecords = DefaultSignInMaxRecords
	}
	if opts.SignInRetention <= 0 {
		opts.SignInRetention = DefaultSignInRetention
	}
	s := &Server{
		opts: opts, log: opts.Logger, mux: http.NewServeMux(),
		tenants:     map[string]*Tenant{},
		deviceCodes: map[string]*deviceCodeGrant{}, userCodes: map[string]*deviceCodeGrant{},
		authCodes: map[string]*authCodeGrant{},
	}
	s.clock = opts.Clock
	if s.clock == nil {
		start := DefaultStart
		if opts.Scenario.Start != "" {
			t, err := time.Parse(time.RFC3339, opts.Scenario.Start)
			if err != nil {
				return nil, fmt.Errorf("scenario start %q: want RFC 3339", opts.Scenario.Start)
			}
			start = t.UTC()
		}
		s.clock = clock.NewVirtual(start, opts.Speed)
	}
	s.start = s.clock.Now()
	built, err := opts.Scenario.build(s.start)
	if err != nil {
		return nil, err
	}
	for _, t := range built.tenants {
		s.tenants[t.ID] = t
		s.tenants[t.Domain] = t
		s.ordered = append(s.ordered, t)
	}
	s.browserSessions = built.browserSessions
	s.opts.Scenario = nil // the tenants now hold everything; let the parsed scenario go
	s.events = newEventQueue(built.events, s.log)
	if s.pki, err = newPKI(opts.ExtraHostNames, s.start); err != nil {
		return nil, fmt.Errorf("creating CA: %w", err)
	}
	if s.sign, err = newSigner(opts.SigningKeyBits); err != nil {
		return nil, fmt.Errorf("creating signing key: %w", err)
	}
	s.rtKey = make([]byte, 32)
	if _, err := rand.Read(s.rtKey); err != nil {
		return nil, err
	}
	s.faults = newFaultInjector(s.clock)
	s.registerIdentityRoutes()
	s.registerAdminRoutes()
	s.registerGraphRoutes()
	return s, nil
}

// Handler returns the root handler: every request first applies the timed
// scenario events that virtual time has reached.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.events.applyDue(s.clock.Now())
		s.mux.ServeHTTP(w, r)
	})
}

// Handle registers h for a Go 1.22 ServeMux pattern ("GET /v1.0/users/{id}")
// wrapped in the fault injector for class. Patterns may name a host
// ("graph.microsoft.com/v1.0/...") to route by r.Host. Conflicting patterns
// panic at registration, as ServeMux does.
func (s *Server) Handle(pattern string, class EndpointClass, h http.Handler) {
	s.mux.Handle(pattern, s.faults.Wrap(class, h))
}

// HandleFunc is Handle for a function.
func (s *Server) HandleFunc(pattern string, class EndpointClass, h http.HandlerFunc) {
	s.Handle(pattern, class, h)
}

// Listen starts serving HTTPS (HTTP/1.1 and HTTP/2) on addr
// ("127.0.0.1:0" picks a free port) and returns once the listener is open.
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{s.pki.leaf}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	s.listener, s.httpSrv = ln, srv
	s.mu.Unlock()
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("entrasim server stopped", "err", err)
		}
	}()
	return nil
}

// Close stops the listener and drops open connections.
func (s *Server) Close() error {
	s.mu.Lock()
	srv, hooks := s.httpSrv, s.onClose
	s.onClose = nil
	s.mu.Unlock()
	for _, f := range hooks {
		f()
	}
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return srv.Close()
	}
	return nil
}

// Addr is the listen address (host:port) once Listen has run.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// BaseURL is https://ADDR, the authority host and Graph host for mode A.
func (s *Server) BaseURL() string { return "https://" + s.Addr() }

// Clock is the virtual clock the simulator runs on.
func (s *Server) Clock() *clock.Virtual { return s.clock }

// Now is the current virtual time.
func (s *Server) Now() time.Time { return s.clock.Now() }

// Advance moves virtual time forward and applies the events it passes.
func (s *Server) Advance(d time.Duration) time.Time {
	now := s.clock.Advance(d)
	s.events.applyDue(now)
	return now
}

// Faults is the fault injector shared by every registered route.
func (s *Server) Faults() *FaultInjector { return s.faults }

// Logger is the simulator's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// Tenant finds a tenant by GUID or domain (case-insensitive), or nil.
func (s *Server) Tenant(idOrDomain string) *Tenant {
	return s.tenants[strings.ToLower(idOrDomain)]
}

// Tenants returns every tenant in scenario order.
func (s *Server) Tenants() []*Tenant { return append([]*Tenant(nil), s.ordered...) }

// TenantIDs returns the tenant GUIDs, sorted.
func (s *Server) TenantIDs() []string {
	ids := make([]string, 0, len(s.ordered))
	for _, t := range s.ordered {
		ids = append(ids, t.ID)
	}
	sort.Strings(ids)
	return ids
}

// ValidateAccessToken checks a bearer access token this simulator issued
// (signature, Graph audience, expiry on the virtual clock, known tenant)
// and returns its tenant and claims. It does not check that the user is
// still enabled: like Graph, a valid token keeps working until it expires.
func (s *Server) ValidateAccessToken(token string) (*Tenant, *AccessClaims, error) {
	c, err := s.sign.validateAccessToken(token, s.clock.Now())
	if err != nil {
		return nil, nil, err
	}
	t := s.Tenant(c.TenantID)
	if t == nil {
		return nil, nil, fmt.Errorf("%w: tenant %s no longer exists", ErrInvalidToken, c.TenantID)
	}
	return t, c, nil
}

// ValidateBearer reads "Authorization: Bearer <token>" from r and validates
// it with ValidateAccessToken.
func (s *Server) ValidateBearer(r *http.Request) (*Tenant, *AccessClaims, error) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return nil, nil, fmt.Errorf("%w: no bearer token", ErrInvalidToken)
	}
	return s.ValidateAccessToken(strings.TrimSpace(h[len(prefix):]))
}

// RecordSignIn appends a sign-in to the tenant's log with the server's
// retention settings.
func (s *Server) RecordSignIn(t *Tenant, rec SignIn) {
	t.AppendSignIn(rec, s.opts.SignInMaxRecords, s.opts.SignInRetention)
}

// mac is the integrity tag of simulator-issued opaque tokens.
func (s *Server) mac(data []byte) []byte {
	m := hmac.New(sha256New, s.rtKey)
	m.Write(data)
	return m.Sum(nil)[:16]
}
