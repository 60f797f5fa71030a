package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Backend is what the daemon offers through the socket.
type Backend interface {
	Status(ctx context.Context) StatusResponse
	Explain(ctx context.Context, tenantID string) (Explanation, error)
	History(ctx context.Context, tenantID string, limit int) (HistoryResponse, error)
	Policies(ctx context.Context, tenantID string) (PoliciesResponse, error)
	Check(ctx context.Context, tenantID string) (CheckResponse, error)
	Silences(ctx context.Context) ([]Silence, error)
	AddSilence(ctx context.Context, req SilenceRequest, author string) (Silence, error)
	RemoveSilence(ctx context.Context, id string) error
	Reload(ctx context.Context) error
	Backup(ctx context.Context, path string) error
	// Enroll runs an interactive sign-in for the tenant. progress receives
	// the "started" and "message" events while the flow is pending; an
	// error returned before the first progress call is answered with its
	// HTTP status, a later one as the stream's "error" event.
	Enroll(ctx context.Context, tenantID string, req EnrollRequest, progress func(EnrollEvent)) (EnrollOutcome, error)
	// EnrollRedirect hands a pasted redirect URL to the pending enrollment.
	EnrollRedirect(ctx context.Context, enrollmentID, redirectURL string) error
}

// ErrNotFound marks an unknown tenant or silence; the API answers 404.
var ErrNotFound = errors.New("not found")

// ErrBadRequest marks invalid input; the API answers 400.
var ErrBadRequest = errors.New("bad request")

// ErrConflict marks a request that clashes with one in progress (a second
// enrollment of the same tenant); the API answers 409.
var ErrConflict = errors.New("conflict")

// Server serves Backend on a unix socket.
type Server struct {
	backend Backend
	log     *slog.Logger
	// writers are the uids allowed to change state: root and the daemon's
	// own user. Everyone else who can connect (the socket group) may read.
	writers map[uint32]bool
	http    *http.Server
	ln      net.Listener
	// stopping is closed by Shutdown: long-lived streams (enrollments)
	// end then instead of holding the shutdown until its deadline.
	stopping chan struct{}
	stopOnce sync.Once
}

// Listen creates the socket at path with mode 0660 and the given group
// (empty keeps the daemon's group), replacing a stale socket file.
func Listen(path, group string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("local API socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("local API socket %s exists and is not a socket; remove it", path)
		}
		// A live daemon answers; a stale file from a crash does not.
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("another tokenhealth daemon is listening on %s", path)
		}
		_ = os.Remove(path)
	}
	// Create the socket with no access for others, then widen to 0660: a
	// client can never connect in the window before the mode is set.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("local API socket %s: %w", path, err)
	}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("global.socket_group %q: %w", group, err)
		}
		gid, _ := strconv.Atoi(g.Gid)
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("giving socket %s to group %s: %w", path, group, err)
		}
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("socket %s mode: %w", path, err)
	}
	return ln, nil
}

// NewServer prepares a server; Serve starts it.
func NewServer(b Backend, log *slog.Logger) *Server {
	s := &Server{backend: b, log: log, writers: map[uint32]bool{0: true, uint32(os.Getuid()): true}, stopping: make(chan struct{})}
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ConnContext:       withPeer,
	}
	return s
}

// Serve answers on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.ln = ln
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	return s.http.Shutdown(ctx)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	read := func(p string, h http.HandlerFunc) { mux.HandleFunc(p, h) }
	write := func(p string, h http.HandlerFunc) { mux.HandleFunc(p, s.requireWriter(h)) }

	read("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, s.backend.Status(r.Context()))
	})
	read("GET /v1/tenants/{id}/explain", func(w http.ResponseWriter, r *http.Request) {
		out, err := s.backend.Explain(r.Context(), r.PathValue("id"))
		s.answer(w, out, err)
	})
	read("GET /v1/tenants/{id}/history", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if limit <= 0 || limit > 10000 {
			limit = 50
		}
		out, err := s.backend.History(r.Context(), r.PathValue("id"), limit)
		s.answer(w, out, err)
	})
	read("GET /v1/tenants/{id}/policies", func(w http.ResponseWriter, r *http.Request) {
		out, err := s.backend.Policies(r.Context(), r.PathValue("id"))
		s.answer(w, out, err)
	})
	read("GET /v1/silences", func(w http.ResponseWriter, r *http.Request) {
		out, err := s.backend.Silences(r.Context())
		if out == nil {
			out = []Silence{}
		}
		s.answer(w, out, err)
	})
	write("POST /v1/tenants/{id}/check", func(w http.ResponseWriter, r *http.Request) {
		out, err := s.backend.Check(r.Context(), r.PathValue("id"))
		s.answer(w, out, err)
	})
	write("POST /v1/silences", func(w http.ResponseWriter, r *http.Request) {
		var req SilenceRequest
		if err := decode(r, &req); err != nil {
			s.answer(w, nil, err)
			return
		}
		out, err := s.backend.AddSilence(r.Context(), req, silenceAuthor(req.Author, peerName(r.Context())))
		s.answer(w, out, err)
	})
	write("DELETE /v1/silences/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.answer(w, map[string]string{"removed": r.PathValue("id")}, s.backend.RemoveSilence(r.Context(), r.PathValue("id")))
	})
	write("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		s.answer(w, map[string]string{"reloaded": "ok"}, s.backend.Reload(r.Context()))
	})
	write("POST /v1/db/backup", func(w http.ResponseWriter, r *http.Request) {
		var req BackupRequest
		if err := decode(r, &req); err != nil {
			s.answer(w, nil, err)
			return
		}
		s.answer(w, map[string]string{"backup": req.Path}, s.backend.Backup(r.Context(), req.Path))
	})
	write("POST /v1/tenants/{id}/enroll", s.enroll)
	write("POST /v1/enrollments/{id}/redirect", func(w http.ResponseWriter, r *http.Request) {
		var req RedirectRequest
		if err := decode(r, &req); err != nil {
			s.answer(w, nil, err)
			return
		}
		s.answer(w, map[string]string{"received": "ok"}, s.backend.EnrollRedirect(r.Context(), r.PathValue("id"), req.URL))
	})
	return refuseBrowsers(mux)
}

// silenceAuthor records the claimed author with the peer's real user, so
// `sudo tokenhealth silence add` names the person and the account.
func silenceAuthor(claimed, peer string) string {
	claimed = strings.TrimSpace(claimed)
	if claimed == "" || claimed == peer {
		return peer
	}
	return claimed + " (as " + peer + ")"
}

// refuseBrowsers rejects any request carrying an Origin header: a web page
// must never be able to drive the socket through a local proxy.
func refuseBrowsers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			reply(w, http.StatusForbidden, ErrorResponse{Error: "requests with an Origin header are refused"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) requireWriter(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := peerFrom(r.Context())
		if !ok || !s.writers[p.Uid] {
			reply(w, http.StatusForbidden, ErrorResponse{Error: "this action needs root or the tokenhealth service user; members of the socket group may only read"})
			return
		}
		h(w, r)
	}
}

func (s *Server) answer(w http.ResponseWriter, v any, err error) {
	switch {
	case err == nil:
		reply(w, http.StatusOK, v)
	case errors.Is(err, ErrNotFound):
		reply(w, http.StatusNotFound, ErrorResponse{Error: err.Error()})
	case errors.Is(err, ErrBadRequest):
		reply(w, http.StatusBadRequest, ErrorResponse{Error: err.Error()})
	case errors.Is(err, ErrConflict):
		reply(w, http.StatusConflict, ErrorResponse{Error: err.Error()})
	default:
		s.log.Warn("local API request failed", "err", err)
		reply(w, http.StatusInternalServerError, ErrorResponse{Error: err.Error()})
	}
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: request body: %v", ErrBadRequest, err)
	}
	return nil
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
