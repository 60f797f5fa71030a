package entrasim

// registerIdentityRoutes mounts the login.microsoftonline.com endpoints.
// They are host-independent so mode A (127.0.0.1:PORT) and mode B (the
// production host over a redirecting dialer) reach the same handlers.
func (s *Server) registerIdentityRoutes() {
	s.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", ClassToken, s.handleOpenIDConfiguration)
	s.HandleFunc("GET /{tenant}/discovery/v2.0/keys", ClassToken, s.handleJWKS)
	s.HandleFunc("GET /common/discovery/instance", ClassToken, s.handleInstanceDiscovery)
	s.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", ClassToken, s.handleDeviceCode)
	s.HandleFunc("POST /{tenant}/oauth2/v2.0/token", ClassToken, s.handleToken)
	s.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", ClassToken, s.handleAuthorize)
}
