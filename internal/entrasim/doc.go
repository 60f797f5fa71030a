// Package entrasim simulates many Entra ID tenants (identity endpoints and,
// through graph_*.go files, Microsoft Graph) over real HTTPS, so the real
// MSAL and Graph SDK clients run against it unmodified. Its value is
// fidelity: it enforces each tenant's own Conditional Access policies and
// user state on every grant and answers with Entra's real error bodies.
//
// # Running it
//
//	srv, err := entrasim.New(entrasim.Options{Scenario: sc, Clock: vclock})
//	err = srv.Listen("127.0.0.1:0")
//	defer srv.Close()
//
// Mode A: authority https://<srv.Addr()>/<tenant GUID> with MSAL's
// WithInstanceDiscovery(false), transport srv.ClientTransport(). Mode B:
// production URLs (login.microsoftonline.com, graph.microsoft.com) with
// transport srv.RedirectTransport() (or RedirectTransport(addr, pool) in
// another process, pool from LoadCAPool(--ca-out file)).
//
// # Internal API for the Graph endpoints (graph_*.go)
//
// Registering routes: New calls every func(*Server) in graphRouteRegistrars
// (graph_hook.go) after the identity and admin routes; a graph_*.go file
// appends its registrar in init and calls s.Handle(pattern, ClassGraph,
// handler) (or HandleFunc) from it. Patterns are Go 1.22 ServeMux patterns such as
// "GET /v1.0/identity/conditionalAccess/policies"; they may start with a
// host ("graph.microsoft.com/v1.0/...") to route by r.Host. Handle wraps the
// handler in the fault injector for its class, and the root handler applies
// due timed scenario events before every request. Never register a pattern
// whose first segment is a wildcard: "/{tenant}/..." belongs to identity.
//
// Authenticating a Graph call:
//
//	t, claims, err := s.ValidateBearer(r) // errors wrap ErrInvalidToken
//	// t: *Tenant of the token; claims.UserID (oid, "" for app-only),
//	// claims.Scopes (scp), claims.Roles, claims.AppID, claims.TenantID,
//	// claims.ExpiresAt, claims.SessionID.
//
// s.ValidateAccessToken(token) does the same from a raw token string.
//
// Finding tenants: s.Tenant(idOrDomain) (nil if unknown), s.Tenants()
// (scenario order), s.TenantIDs().
//
// Reading tenant state: everything mutable sits in TenantState behind the
// tenant's RWMutex. Read it only inside t.View(func(st *TenantState){...})
// and do not keep pointers after the callback returns (copy what you need):
//
//	st.Users            map[id]*User (ID, UserPrincipalName, DisplayName,
//	                    UserType, AccountEnabled, LastPasswordChange,
//	                    TokensValidFrom = signInSessionsValidFromDateTime,
//	                    PerUserMFAState, MFAMethods, CreatedDateTime)
//	st.UserByUPNOrID(s) lookup by object id or UPN
//	st.SortedUsers()    users ordered by UPN
//	st.Groups           map[id]*Group (ID, DisplayName, Members: user and group ids)
//	st.Roles            map[templateID]*DirectoryRole (ID, TemplateID, DisplayName, Members)
//	st.TransitiveMemberOf(userID) ([]*Group, []*DirectoryRole), nested groups expanded
//	st.NamedLocations   []*NamedLocation: ID and Raw (the Graph JSON with @odata.type)
//	st.Policies         []*Policy: ID, DisplayName, State and Raw (the Graph JSON
//	                    exactly as loaded or patched); st.PolicyByID(id)
//	st.Domains          []*Domain (ID, IsDefault, IsInitial, PasswordValidityPeriodInDays)
//	st.PasswordValidityDays()  default domain's validity (90 when unset)
//	st.Apps             map[appID]*ClientApp
//	st.Options          TenantOptions (RememberMFADays, lifetimes, ...)
//
// Changing tenant state: use the mutations, which validate, lock and
// rebuild the precomputed indexes (compiled policies, memberships):
// t.AddPolicy(raw) (id, error), t.UpdatePolicy(id, patch) (merge patch),
// t.DeletePolicy(id), t.ChangePassword(user, now), t.RevokeSessions(user,
// now), t.SetAccountEnabled, t.SetLocked, t.SetPerUserMFA, t.SetMembership.
// For anything else use t.Update(func(st *TenantState) error {...}), which
// reindexes afterwards. Missing objects wrap ErrNotFound.
//
// Sign-in logs: every token grant appends a SignIn (Graph signIn shape,
// with beta-only fields that SignIn.V1() strips). Read them with
// t.SignIns(func(*SignIn) bool) (newest first, copies; nil keeps all);
// filter on UserID, AppID, CreatedDateTime, SignInEventTypes
// ("interactiveUser", "nonInteractiveUser", "servicePrincipal"). Append
// with s.RecordSignIn(t, rec), which applies the retention limits.
//
// Time: s.Now() is the virtual time (s.Clock() the *clock.Virtual, shared
// with an in-process agent when Options.Clock is set); s.Advance(d) moves
// it and applies timed events. Never use time.Now for tenant-visible times.
//
// Faults: s.Faults() is the *FaultInjector; FaultInjector.Wrap(class, h)
// is what Handle applies. The admin API (POST /_sim/faults with
// {"class":"graph", ...}) sets a FaultSpec per class: latency plus jitter,
// 5xx rate, 429 rate with or without Retry-After, hangs (timeouts),
// connection resets and virtual-time outages. Graph-class faults answer
// with OData error bodies.
//
// Lifetime: s.OnClose(f) runs f when the server closes; use it to drop any
// registry keyed by *Server (graphAPIs) so closed servers can be freed.
//
// # Admin API (JSON, never faulted)
//
//	GET    /_sim/tenants                          tenants, users, apps, named locations, pending events
//	GET    /_sim/clock                            {"now","speed"}
//	POST   /_sim/clock/advance                    {"by":"36h"} or {"to":"RFC 3339"}
//	POST   /_sim/devicecode/approve               {"user_code","user","mfa","fresh","decline"}
//	POST   /_sim/faults                           {"class":"token|graph|other|all","latencyMs","jitterMs",
//	                                               "errorRate","errorStatus","throttleRate","retryAfterSeconds",
//	                                               "timeoutRate","resetRate","outageFor":"2h","clear"}
//	DELETE /_sim/faults                           clear every fault
//	POST   /_sim/tenants/{t}/policies             raw policy JSON or {"value":[...]}
//	PATCH  /_sim/tenants/{t}/policies/{id}        JSON merge patch
//	DELETE /_sim/tenants/{t}/policies/{id}
//	POST   /_sim/tenants/{t}/users/{u}/{action}   changePassword, resetPassword, revokeSessions,
//	                                               disable, enable, lock, unlock, perUserMfa {"state"}
//	POST   /_sim/tenants/{t}/groups/{g}/members   {"member","add":true|false}
//	GET    /_sim/tenants/{t}/sessions             sign-in sessions (auth time, MFA, flow, redemptions)
//	GET    /_sim/tenants/{t}/signins              the tenant's sign-in log
//
// # Scenario files
//
// YAML (strict: unknown keys are errors); see scenarios/demo.yaml. Policies
// and named locations are raw Graph JSON, inline (YAML or JSON syntax), as
// {json: "..."} or as {file: path}; a file may hold one object or a
// {"value":[...]} export in UTF-8, UTF-8 with BOM, or UTF-16 with BOM and
// CRLF. Timed events ("at: +36h, action: addPolicy, policy: {...}") apply
// when virtual time reaches them. GenerateScenario(n, seed) builds large
// scenarios for load tests.
package entrasim
