package entrasim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The /_sim/graph admin API: throttling limits, per-tenant misbehaviour
// switches and request counters. JSON in, JSON out; never faulted.
//
//	GET   /_sim/graph/limits              current GraphLimits
//	PUT   /_sim/graph/limits              change some or all limits (and empty the buckets)
//	GET   /_sim/graph/tenants/{tenant}    the tenant's GraphTenantControls
//	PATCH /_sim/graph/tenants/{tenant}    change some switches, e.g. {"caeChallenge":true}
//	GET   /_sim/graph/stats               requests answered, by status and throttle bucket
func (g *graphAPI) registerAdmin() {
	s := g.s
	s.HandleFunc("GET /_sim/graph/limits", ClassAdmin, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.GraphLimits())
	})
	s.HandleFunc("PUT /_sim/graph/limits", ClassAdmin, func(w http.ResponseWriter, r *http.Request) {
		l := s.GraphLimits()
		if err := decodeStrict(r.Body, &l); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limits: " + err.Error()})
			return
		}
		if err := s.SetGraphLimits(l); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limits: " + err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, l)
	})
	s.HandleFunc("GET /_sim/graph/tenants/{tenant}", ClassAdmin, func(w http.ResponseWriter, r *http.Request) {
		t := s.Tenant(r.PathValue("tenant"))
		if t == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("tenant %q: not found", r.PathValue("tenant"))})
			return
		}
		writeJSON(w, http.StatusOK, s.GraphControls(t.ID))
	})
	s.HandleFunc("PATCH /_sim/graph/tenants/{tenant}", ClassAdmin, func(w http.ResponseWriter, r *http.Request) {
		t := s.Tenant(r.PathValue("tenant"))
		if t == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("tenant %q: not found", r.PathValue("tenant"))})
			return
		}
		c := s.GraphControls(t.ID)
		if err := decodeStrict(r.Body, &c); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "controls: " + err.Error()})
			return
		}
		if err := s.SetGraphControls(t.ID, c); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, c)
	})
	s.HandleFunc("GET /_sim/graph/stats", ClassAdmin, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.GraphStats())
	})
}

// decodeStrict decodes one JSON object onto v, refusing unknown fields so
// a misspelt switch is an error rather than a silent no-op.
func decodeStrict(body io.Reader, v any) error {
	dec := json.NewDecoder(io.LimitReader(body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return err
	}
	return nil
}
