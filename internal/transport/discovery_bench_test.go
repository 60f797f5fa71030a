package transport

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkDiscoveryCacheHeap reports the live heap the cache holds per
// tenant once 10,000 tenants' two discovery documents are kept, and the
// size of those documents. "same-shape": documents that differ only by the
// tenant id, as Entra ID serves tenants of one cloud and region (they share
// one stored body); "all-distinct": the worst case, every document unique.
func BenchmarkDiscoveryCacheHeap(b *testing.B) {
	const tenants = 10000
	for _, distinct := range []bool{false, true} {
		name := "same-shape"
		if distinct {
			name = "all-distinct"
		}
		b.Run(name, func(b *testing.B) {
			answer := func(req *http.Request) (*http.Response, error) {
				if req.URL.Path == "/common/discovery/instance" {
					return documents(req)
				}
				tn := strings.Split(req.URL.Path, "/")[1]
				region := "EU"
				if distinct {
					region = "EU-" + strings.ToUpper(tn) // not the tenant's own spelling: not factored out
				}
				return reply(200, openIDDocument(tn, region)), nil
			}
			ids := make([]string, tenants)
			urls := make([]string, 0, 2*tenants)
			for i := range ids {
				ids[i] = fmt.Sprintf("%08x-%04x-4000-8000-%012x", i*7919, i%65536, i)
				urls = append(urls, openIDURL(ids[i]), instanceURL(ids[i]))
			}
			docBytes := len(openIDDocument(ids[0], "EU")) + len(instanceDocument(ids[0]))
			for b.Loop() {
				before := liveHeap()
				c := CacheDiscovery(&upstream{answer: answer}, DiscoveryOptions{})
				for _, u := range urls {
					fetch(b, c, "GET", u)
				}
				after := liveHeap()
				if c.Len() != 2*tenants {
					b.Fatalf("%d documents kept, want %d", c.Len(), 2*tenants)
				}
				b.ReportMetric(float64(after-before)/tenants, "heap-B/tenant")
				b.ReportMetric(float64(docBytes), "docs-B/tenant")
				runtime.KeepAlive(c)
			}
		})
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
