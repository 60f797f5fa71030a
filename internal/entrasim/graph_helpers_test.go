package entrasim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

// The Graph fixture tenant is shared with internal/graph's tests (see the
// YAML for what it holds).
const graphFixture = "../graph/testdata/graphco.yaml"

const (
	gTenant    = "5a5a5a5a-1111-4222-8333-444444444444"
	gUser      = "5a5a5a5a-0000-4000-8000-000000000001"
	gUPN       = "svc@graphco.onmicrosoft.com"
	gOther     = "5a5a5a5a-0000-4000-8000-000000000002"
	gApp       = "7e2a4b19-5c3d-4f60-9a8b-1c2d3e4f5a6b"
	gNarrowApp = "5a5a5a5a-0000-4000-8000-0000000000ff"
	gGroup     = "5a5a5a5a-0000-4000-8000-0000000000a1"
	gNested    = "5a5a5a5a-0000-4000-8000-0000000000a2"
	gRoleTmpl  = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
)

var gStart = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// newGraphSim builds the fixture on a frozen virtual clock. Requests go
// straight to Handler: the HTTPS and real-SDK path is internal/graph's.
func newGraphSim(t testing.TB) *Server {
	t.Helper()
	sc, err := LoadScenarioFile(graphFixture)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Scenario: sc, Clock: clock.NewVirtual(gStart, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mintToken signs a Graph access token for user/app with the given scp,
// as the token endpoint would issue it. The token endpoint itself is
// covered by msal_test.go; these tests are about the Graph side.
func mintToken(t testing.TB, s *Server, user, app, scp string) string {
	t.Helper()
	now := s.Now()
	tok, err := s.sign.sign(accessTokenClaims{
		Aud: GraphResource, Iss: "https://sts.windows.net/" + gTenant + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(time.Hour).Unix(),
		AppID: app, IDTyp: "user", Oid: user, Scp: scp, Sub: user, Tid: gTenant, Uti: newGUID(), Ver: "1.0",
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const fullScopes = "Policy.Read.All AuditLog.Read.All Directory.Read.All User.Read"

// gResp is a decoded Graph response.
type gResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r gResp) errorCode() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (r gResp) values() []map[string]any {
	var out []map[string]any
	for _, v := range r.body["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// call sends one request through the simulator's handler as
// graph.microsoft.com (mode B host names).
func call(t testing.TB, s *Server, method, target, token string, body io.Reader, hdr ...string) gResp {
	t.Helper()
	if strings.HasPrefix(target, "https://") {
		target = strings.TrimPrefix(target, "https://graph.microsoft.com")
	}
	req := httptest.NewRequest(method, "https://graph.microsoft.com"+target, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	out := gResp{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, want application/json", method, target, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out.body); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, target, err, out.raw)
	}
	return out
}

func ids(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["id"].(string))
	}
	return out
}
