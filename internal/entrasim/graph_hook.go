package entrasim

// graphRouteRegistrars are called by New after the identity and admin
// routes. The Microsoft Graph endpoints (graph_*.go) register themselves
// here so that the identity side does not need to know them.
var graphRouteRegistrars []func(*Server)

func (s *Server) registerGraphRoutes() {
	for _, reg := range graphRouteRegistrars {
		reg(s)
	}
}
