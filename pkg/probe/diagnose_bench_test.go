package probe

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDiagnose classifies a representative mix: every real-world sample
// under testdata/diagnose (raw bodies, MSAL exceptions of four languages, Go
// oauth2 strings, escaped and URL-encoded JSON, HTML pages, network errors),
// in turn. The target is 200,000 classifications per second on one core:
//
//	go test -run x -bench Diagnose -cpu 1 ./pkg/probe/
func BenchmarkDiagnose(b *testing.B) {
	files, err := filepath.Glob(filepath.Join("testdata", "diagnose", "*"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no samples: %v", err)
	}
	mix := make([]string, 0, len(files))
	bytes := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		mix = append(mix, string(raw))
		bytes += len(raw)
	}
	b.SetBytes(int64(bytes / len(mix)))
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = Diagnose(mix[i%len(mix)])
	}
	b.StopTimer()
	// The build machine is shared: wall time per op includes time the
	// process waited for a core, so the CPU time actually spent is reported
	// too (it includes the GC's share).
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "classifications/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "classifications/cpu-s")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
