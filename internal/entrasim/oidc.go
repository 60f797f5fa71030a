package entrasim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// The metadata endpoints MSAL reads before any grant (libraries.md §7).

// hostOf returns the authority host the client used: "127.0.0.1:PORT" in
// mode A, "login.microsoftonline.com" in mode B. Every URL the simulator
// hands out is built from it so both modes stay self-consistent.
func hostOf(r *http.Request) string {
	if r.Host != "" {
		return strings.ToLower(r.Host)
	}
	return "login.microsoftonline.com"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// tenantFromPath resolves the {tenant} path segment or writes 90002.
func (s *Server) tenantFromPath(w http.ResponseWriter, r *http.Request) *Tenant {
	seg := r.PathValue("tenant")
	if t := s.Tenant(seg); t != nil {
		return t
	}
	stsErrors{now: s.Now(), corr: r.Header.Get("client-request-id")}.tenantNotFound(seg).write(w)
	return nil
}

func (s *Server) handleOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	t := s.tenantFromPath(w, r)
	if t == nil {
		return
	}
	base := "https://" + hostOf(r) + "/" + t.ID
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              "https://" + hostOf(r) + "/" + t.ID + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     "https://graph.microsoft.com/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported": []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
			"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
		"kerberos_endpoint":     base + "/kerberos",
		"tenant_region_scope":   "EU",
		"cloud_instance_name":   "microsoftonline.com",
		"cloud_graph_host_name": "graph.windows.net",
		"msgraph_host":          "graph.microsoft.com",
		"rbac_url":              "https://pas.windows.net",
	})
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.sign.jwks())
}

// handleInstanceDiscovery answers /common/discovery/instance. For the
// public cloud hosts it returns the real alias metadata; for any other
// host (mode A) it answers 404 like an unknown authority, so MSAL falls
// back to its built-in metadata. It never returns an empty 200, which would
// break every silent call.
func (s *Server) handleInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	aliases := []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}
	host := hostOf(r)
	known := false
	for _, a := range aliases {
		if host == a {
			known = true
		}
	}
	if !known {
		writeJSON(w, http.StatusNotFound, map[string]any{
			"error":             "invalid_instance",
			"error_description": "AADSTS50049: Unknown or invalid instance.",
			"error_codes":       []int{50049},
		})
		return
	}
	tenant := "common"
	if ae := r.URL.Query().Get("authorization_endpoint"); ae != "" {
		if parts := strings.Split(strings.TrimPrefix(strings.TrimPrefix(ae, "https://"), host+"/"), "/"); len(parts) > 0 && parts[0] != "" {
			tenant = parts[0]
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + host + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": "login.microsoftonline.com",
			"preferred_cache":   "login.windows.net",
			"aliases":           aliases,
		}},
	})
}
