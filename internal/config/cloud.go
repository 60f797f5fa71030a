package config

import (
	"net/url"
	"strings"
)

// Clouds: the Microsoft national clouds have their own sign-in and Graph
// hosts; custom points both at explicit URLs (the simulator, a proxy).
const (
	CloudPublic = "public"
	CloudUSGov  = "usgov"
	CloudChina  = "china"
	CloudCustom = "custom"
)

// Endpoints are the URLs the agent talks to for one cloud.
type Endpoints struct {
	// AuthorityHost is the sign-in base without a tenant, e.g.
	// https://login.microsoftonline.com (no trailing slash).
	AuthorityHost string
	// GraphBaseURL is the Graph v1.0 base, e.g. https://graph.microsoft.com/v1.0.
	GraphBaseURL string
	// GraphBetaURL is the beta base (What If lives there).
	GraphBetaURL string
	// GraphScope is the resource's .default scope for the token request.
	GraphScope string
}

var knownClouds = map[string]Endpoints{
	CloudPublic: {
		AuthorityHost: "https://login.microsoftonline.com",
		GraphBaseURL:  "https://graph.microsoft.com/v1.0",
		GraphBetaURL:  "https://graph.microsoft.com/beta",
		GraphScope:    "https://graph.microsoft.com/.default",
	},
	CloudUSGov: {
		AuthorityHost: "https://login.microsoftonline.us",
		GraphBaseURL:  "https://graph.microsoft.us/v1.0",
		GraphBetaURL:  "https://graph.microsoft.us/beta",
		GraphScope:    "https://graph.microsoft.us/.default",
	},
	CloudChina: {
		AuthorityHost: "https://login.chinacloudapi.cn",
		GraphBaseURL:  "https://microsoftgraph.chinacloudapi.cn/v1.0",
		GraphBetaURL:  "https://microsoftgraph.chinacloudapi.cn/beta",
		GraphScope:    "https://microsoftgraph.chinacloudapi.cn/.default",
	},
}

// Endpoints returns the URLs for the configured cloud. For custom, they
// derive from authority_host and graph_base_url (validated at load to be
// absolute URLs, the Graph one ending in /v1.0).
func (g *Global) Endpoints() Endpoints {
	if e, ok := knownClouds[g.Cloud]; ok {
		return e
	}
	graph := strings.TrimSuffix(g.GraphBaseURL, "/")
	e := Endpoints{
		AuthorityHost: strings.TrimSuffix(g.AuthorityHost, "/"),
		GraphBaseURL:  graph,
		GraphBetaURL:  strings.TrimSuffix(graph, "/v1.0") + "/beta",
	}
	if u, err := url.Parse(graph); err == nil {
		e.GraphScope = u.Scheme + "://" + u.Host + "/.default"
	}
	return e
}

// AuthorityURL is the MSAL authority for a tenant: always the tenant GUID,
// never a domain name (MSAL rewrites the substring "token" anywhere in the
// URL when it derives the device-code endpoint).
func (g *Global) AuthorityURL(tenantID string) string {
	return g.Endpoints().AuthorityHost + "/" + tenantID
}
