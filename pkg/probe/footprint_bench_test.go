package probe

import (
	"context"
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkClientFootprint reports the live heap one tenant's MSAL client
// holds once its cache has been loaded (as after its first probe): the
// Prober keeps one per tenant, so at 10,000 tenants this is most of the
// agent's heap. The cache is a real enrollment's, copied to 1,000 tenants.
func BenchmarkClientFootprint(b *testing.B) {
	const n = 1000
	env := newSimEnv(b, false)
	tg := env.target(simTenant, simUser)
	env.enrollDeviceCode(tg)
	blob, err := env.db.LoadTokenCache(simTenant)
	if err != nil {
		b.Fatal(err)
	}
	caches := &memoryCaches{}
	targets := make([]Target, n)
	for i := range targets {
		targets[i] = tg
		targets[i].TenantID = fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		_ = caches.SaveTokenCache(targets[i].TenantID, blob)
	}
	for b.Loop() {
		before := liveHeap()
		clients := make([]*Client, n)
		for i, t := range targets {
			c, err := NewClient(t, caches, env.http)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.account(context.Background(), ""); err != nil {
				b.Fatal(err)
			}
			clients[i] = c
		}
		after := liveHeap()
		b.ReportMetric(float64(after-before)/n/1024, "heap-KB/client")
		b.ReportMetric(float64(len(blob))/1024, "cache-KB")
		runtime.KeepAlive(clients)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
