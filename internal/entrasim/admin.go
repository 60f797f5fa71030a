package entrasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The admin API under /_sim/ drives the simulation: the clock, tenant
// mutations, device code decisions and fault injection. It is JSON in and
// out; errors are {"error": "..."} with 400 or 404.

func (s *Server) registerAdminRoutes() {
	a := func(pattern string, h http.HandlerFunc) { s.HandleFunc(pattern, ClassAdmin, h) }
	a("GET /_sim/tenants", s.adminTenants)
	a("GET /_sim/clock", s.adminClock)
	a("POST /_sim/clock/advance", s.adminAdvance)
	a("POST /_sim/devicecode/approve", s.adminDeviceCode)
	a("POST /_sim/faults", s.adminSetFaults)
	a("DELETE /_sim/faults", s.adminClearFaults)
	a("POST /_sim/tenants/{tenant}/policies", s.adminAddPolicy)
	a("PATCH /_sim/tenants/{tenant}/policies/{id}", s.adminUpdatePolicy)
	a("DELETE /_sim/tenants/{tenant}/policies/{id}", s.adminDeletePolicy)
	a("POST /_sim/tenants/{tenant}/users/{user}/{action}", s.adminUserAction)
	a("POST /_sim/tenants/{tenant}/groups/{group}/members", s.adminMembership)
	a("GET /_sim/tenants/{tenant}/sessions", s.adminSessions)
	a("GET /_sim/tenants/{tenant}/signins", s.adminSignIns)
}

func adminError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrNotFound) {
		status = http.StatusNotFound
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}

func (s *Server) adminTenant(w http.ResponseWriter, r *http.Request) *Tenant {
	t := s.Tenant(r.PathValue("tenant"))
	if t == nil {
		adminError(w, fmt.Errorf("tenant %q: %w", r.PathValue("tenant"), ErrNotFound))
	}
	return t
}

// TenantSummary is one entry of GET /_sim/tenants: enough for an outside
// client to configure itself.
type TenantSummary struct {
	ID             string              `json:"id"`
	Domain         string              `json:"domain"`
	DisplayName    string              `json:"displayName"`
	Users          []UserSummary       `json:"users"`
	ClientApps     []AppSummary        `json:"clientApps"`
	NamedLocations []json.RawMessage   `json:"namedLocations"`
	PolicyIDs      []string            `json:"policyIds"`
	PendingEvents  []map[string]string `json:"pendingEvents,omitempty"`
}

// UserSummary identifies a user.
type UserSummary struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
}

// AppSummary identifies a client app (never its secrets).
type AppSummary struct {
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
	Public      bool   `json:"public"`
}

// Summaries describes every tenant.
func (s *Server) Summaries() []TenantSummary {
	out := make([]TenantSummary, 0, len(s.ordered))
	for _, t := range s.ordered {
		ts := TenantSummary{ID: t.ID, Domain: t.Domain, DisplayName: t.DisplayName,
			Users: []UserSummary{}, ClientApps: []AppSummary{}, NamedLocations: []json.RawMessage{}, PolicyIDs: []string{}}
		t.View(func(st *TenantState) {
			for _, u := range st.SortedUsers() {
				ts.Users = append(ts.Users, UserSummary{ID: u.ID, UserPrincipalName: u.UserPrincipalName})
			}
			for _, a := range st.Apps {
				ts.ClientApps = append(ts.ClientApps, AppSummary{AppID: a.AppID, DisplayName: a.DisplayName, Public: a.Public})
			}
			for _, nl := range st.NamedLocations {
				ts.NamedLocations = append(ts.NamedLocations, nl.Raw)
			}
			for _, p := range st.Policies {
				ts.PolicyIDs = append(ts.PolicyIDs, p.ID)
			}
		})
		ts.PendingEvents = s.events.remaining(t.ID)
		out = append(out, ts)
	}
	return out
}

func (s *Server) adminTenants(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"now": s.Now(), "tenants": s.Summaries()})
}

func (s *Server) adminClock(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"now": s.Now(), "speed": s.clock.Speed()})
}

func (s *Server) adminAdvance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		By string    `json:"by"` // "36h", "2d"
		To time.Time `json:"to"`
	}
	if err := decodeBody(r, &req); err != nil {
		adminError(w, err)
		return
	}
	var d time.Duration
	switch {
	case req.By != "" && !req.To.IsZero():
		adminError(w, fmt.Errorf("give either by or to, not both"))
		return
	case req.By != "":
		var err error
		if d, err = parseDuration(req.By); err != nil || d < 0 {
			adminError(w, fmt.Errorf("by %q: want a non-negative duration like 36h or 2d", req.By))
			return
		}
	case !req.To.IsZero():
		if d = req.To.Sub(s.Now()); d < 0 {
			adminError(w, fmt.Errorf("to %s is in the virtual past", req.To.Format(time.RFC3339)))
			return
		}
	default:
		adminError(w, fmt.Errorf("by or to is required"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"now": s.Advance(d)})
}

func (s *Server) adminDeviceCode(w http.ResponseWriter, r *http.Request) {
	var d DeviceCodeDecision
	if err := decodeBody(r, &d); err != nil {
		adminError(w, err)
		return
	}
	if err := s.DecideDeviceCode(d); err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user_code": d.UserCode, "declined": d.Decline})
}

func (s *Server) adminSetFaults(w http.ResponseWriter, r *http.Request) {
	var in faultSpecJSON
	if err := decodeBody(r, &in); err != nil {
		adminError(w, err)
		return
	}
	classes, spec, err := parseFaultRequest(in, s.Now())
	if err != nil {
		adminError(w, err)
		return
	}
	for _, c := range classes {
		if in.Clear {
			s.faults.Clear(c)
		} else {
			s.faults.Set(c, spec)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"classes": classes})
}

func (s *Server) adminClearFaults(w http.ResponseWriter, r *http.Request) {
	for _, c := range []EndpointClass{ClassToken, ClassGraph, ClassOther} {
		s.faults.Clear(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"cleared": true})
}

func (s *Server) adminAddPolicy(w http.ResponseWriter, r *http.Request) {
	t := s.adminTenant(w, r)
	if t == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		adminError(w, err)
		return
	}
	text, err := decodeText(body)
	if err != nil {
		adminError(w, err)
		return
	}
	objs, err := splitCollection(text)
	if err != nil {
		adminError(w, err)
		return
	}
	var ids []string
	for _, o := range objs {
		id, err := t.AddPolicy(o)
		if err != nil {
			adminError(w, err)
			return
		}
		ids = append(ids, id)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ids": ids})
}

func (s *Server) adminUpdatePolicy(w http.ResponseWriter, r *http.Request) {
	t := s.adminTenant(w, r)
	if t == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = t.UpdatePolicy(r.PathValue("id"), body)
	}
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id")})
}

func (s *Server) adminDeletePolicy(w http.ResponseWriter, r *http.Request) {
	t := s.adminTenant(w, r)
	if t == nil {
		return
	}
	if err := t.DeletePolicy(r.PathValue("id")); err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": r.PathValue("id")})
}

// adminUserAction: changePassword, resetPassword, revokeSessions, disable,
// enable, lock, unlock, perUserMfa ({"state": "enforced"}).
func (s *Server) adminUserAction(w http.ResponseWriter, r *http.Request) {
	t := s.adminTenant(w, r)
	if t == nil {
		return
	}
	user, action, now := r.PathValue("user"), r.PathValue("action"), s.Now()
	var err error
	switch action {
	case "changePassword", "resetPassword":
		err = t.ChangePassword(user, now)
	case "revokeSessions", "revokeSignInSessions":
		err = t.RevokeSessions(user, now)
	case "disable", "enable":
		err = t.SetAccountEnabled(user, action == "enable")
	case "lock", "unlock":
		err = t.SetLocked(user, action == "lock")
	case "perUserMfa":
		var req struct {
			State string `json:"state"`
		}
		if err = decodeBody(r, &req); err == nil {
			err = t.SetPerUserMFA(user, req.State)
		}
	default:
		err = fmt.Errorf("action %q: want changePassword, resetPassword, revokeSessions, disable, enable, lock, unlock or perUserMfa", action)
	}
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": user, "action": action, "at": now})
}

func (s *Server) adminMembership(w http.ResponseWriter, r *http.Request) {
	t := s.adminTenant(w, r)
	if t == nil {
		return
	}
	var req struct {
		Member string `json:"member"`
		Add    *bool  `json:"add"`
	}
	if err := decodeBody(r, &req); err != nil {
		adminError(w, err)
		return
	}
	if req.Member == "" || req.Add == nil {
		adminError(w, fmt.Errorf("member and add are required"))
		return
	}
	if err := t.SetMembership(r.PathValue("group"), req.Member, *req.Add); err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"group": r.PathValue("group"), "member": req.Member, "add": *req.Add})
}

func (s *Server) adminSessions(w http.ResponseWriter, r *http.Request) {
	if t := s.adminTenant(w, r); t != nil {
		writeJSON(w, http.StatusOK, map[string]any{"value": t.Sessions()})
	}
}

func (s *Server) adminSignIns(w http.ResponseWriter, r *http.Request) {
	if t := s.adminTenant(w, r); t != nil {
		writeJSON(w, http.StatusOK, map[string]any{"value": t.SignIns(nil)})
	}
}
