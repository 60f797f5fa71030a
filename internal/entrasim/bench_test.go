package entrasim

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tokenhealth/tokenhealth/internal/clock"
)

// vmHWM reads the process's peak resident set size in bytes.
func vmHWM(tb testing.TB) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb * 1024
		}
	}
	tb.Skip("VmHWM not found")
	return 0
}

// BenchmarkRefreshGrants10kTenants serves 10,000 generated tenants from one
// simulator and redeems refresh tokens from parallel clients over HTTP/2
// keep-alive connections on loopback. Every grant runs the full pipeline:
// token decode, user state, consent, CA evaluation, per-user MFA, two RS256
// signatures (access token and id_token) and a sign-in record.
// Metrics: grants/s, peak RSS after loading (rss-load-MB) and at the end
// (rss-peak-MB, which includes the benchmark's own HTTP clients).
func BenchmarkRefreshGrants10kTenants(b *testing.B) {
	for _, bits := range []int{2048, 1024} {
		b.Run(fmt.Sprintf("rsa%d", bits), func(b *testing.B) { benchmarkRefreshGrants(b, bits) })
	}
}

func benchmarkRefreshGrants(b *testing.B, keyBits int) {
	const tenants = 10000
	resetPeakRSS()
	loadStart := time.Now()
	s, err := New(Options{Scenario: GenerateScenario(tenants, 1), Clock: clock.NewVirtual(DefaultStart, 0), SigningKeyBits: keyBits})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	loadSeconds, loadRSS := time.Since(loadStart).Seconds(), vmHWM(b)

	// One enrolled session per tenant, minted as the device code grant
	// would, so the benchmark measures redemption only.
	type target struct{ url, form string }
	targets := make([]target, 0, tenants)
	now := s.Now()
	for _, t := range s.Tenants() {
		var userID string
		t.View(func(st *TenantState) { userID = st.InteractiveUserID() })
		rt := s.mintRefreshToken(refreshToken{
			tenant: uuid.MustParse(t.ID), user: uuid.MustParse(userID), client: uuid.MustParse(CanaryAppID),
			session: uuid.New(), authTime: now, issued: now, flow: flowByte(FlowDeviceCode),
		})
		form := url.Values{"grant_type": {"refresh_token"}, "client_id": {CanaryAppID}, "client_info": {"1"},
			"scope": {graphScope + " openid offline_access profile"}, "refresh_token": {rt}}
		targets = append(targets, target{s.BaseURL() + "/" + t.ID + "/oauth2/v2.0/token", form.Encode()})
	}
	var next, failures atomic.Int64
	b.SetParallelism(8) // 8 × GOMAXPROCS concurrent clients
	b.ResetTimer()
	cpuStart := processCPU()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		hc := &http.Client{Transport: s.ClientTransport()} // one HTTP/2 connection per client goroutine
		for pb.Next() {
			tg := targets[int(next.Add(1))%len(targets)]
			resp, err := hc.Post(tg.url, "application/x-www-form-urlencoded", strings.NewReader(tg.form))
			if err != nil {
				b.Error(err)
				return
			}
			var buf [4096]byte
			for {
				if _, err := resp.Body.Read(buf[:]); err != nil {
					break
				}
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failures.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	cpu := processCPU() - cpuStart
	b.StopTimer()
	// ResetTimer drops earlier metrics, so the load figures are reported here.
	b.ReportMetric(loadSeconds, "load-s")
	b.ReportMetric(loadRSS/(1<<20), "rss-load-MB")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "grants/s")
	// On a shared machine the wall rate measures the neighbours; CPU time
	// per grant (server and benchmark clients together) does not.
	b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/grant")
	b.ReportMetric(vmHWM(b)/(1<<20), "rss-peak-MB")
	if f := failures.Load(); f > 0 {
		b.Errorf("%d of %d grants failed", f, b.N)
	}
}

// resetPeakRSS frees what earlier benchmarks left and resets VmHWM
// (writing 5 to clear_refs), so each sub-benchmark reports its own peak.
func resetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSignRS256 is the cost floor of a grant: one RS256 signature.
func BenchmarkSignRS256(b *testing.B) {
	for _, bits := range []int{2048, 1024} {
		b.Run(fmt.Sprintf("rsa%d", bits), func(b *testing.B) { benchmarkSign(b, bits) })
	}
}

func benchmarkSign(b *testing.B, bits int) {
	sg, err := newSigner(bits)
	if err != nil {
		b.Fatal(err)
	}
	claims := idTokenClaims{Aud: CanaryAppID, Iss: "https://login.microsoftonline.com/x/v2.0", Oid: testUser, Tid: testTenant}
	n := 0
	cpuStart := processCPU()
	for b.Loop() {
		if _, err := sg.sign(claims); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric((processCPU()-cpuStart).Seconds()*1000/float64(n), "cpu-ms/sign")
}
