package probe

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
)

// TestMinimalCacheServesProbesAndGraphReads: the stored cache keeps no ID
// token, and with it the real MSAL client still probes (each probe one
// redemption) and serves the Graph reads'
// access token from the cache without another redemption, also after the
// client was rebuilt (the Prober keeps a bounded number of clients).
func TestMinimalCacheServesProbesAndGraphReads(t *testing.T) {
	env := newSimEnv(t, false)
	tg := env.target(simTenant, simUser)
	env.enrollDeviceCode(tg)
	ctx := context.Background()
	storedSections := func() []string {
		t.Helper()
		blob, err := env.db.LoadTokenCache(simTenant)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(blob, &m); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, k := range []string{"AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"} {
			if _, ok := m[k]; ok {
				keys = append(keys, k)
			}
		}
		return keys
	}
	want := []string{"AccessToken", "RefreshToken", "Account", "AppMetadata"}
	if got := storedSections(); !slices.Equal(got, want) {
		t.Errorf("after enrollment the cache holds %v, want %v", got, want)
	}
	for i := range 2 {
		before := env.nonInteractiveSignIns(simTenant, simUser)
		if res := env.prober.Probe(ctx, tg); res.Outcome != OutcomeOK || res.TokenSource != TokenSourceIdP {
			t.Fatalf("probe %d: %s %s %s", i, res.Outcome, res.TokenSource, res.Message)
		}
		if n := env.nonInteractiveSignIns(simTenant, simUser) - before; n != 1 {
			t.Errorf("probe %d made %d redemptions, want 1", i, n)
		}
		if got := storedSections(); !slices.Equal(got, want) {
			t.Errorf("after probe %d the cache holds %v, want %v", i, got, want)
		}
		env.prober.Forget(simTenant) // the next use rebuilds the client from the store
	}
	before := env.nonInteractiveSignIns(simTenant, simUser)
	tok, _, err := env.prober.AccessToken(ctx, tg, nil, "")
	if err != nil || tok == "" {
		t.Fatalf("Graph access token: %v", err)
	}
	if n := env.nonInteractiveSignIns(simTenant, simUser) - before; n != 0 {
		t.Errorf("the Graph token cost %d redemptions, want 0 (the probe's access token is cached)", n)
	}
}
