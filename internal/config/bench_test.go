package config

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLoadTenants measures a load of a main file holding 5,000
// tenants, the scale an MSP reaches; the agent loads at start and on
// every reload.
func BenchmarkLoad5000Tenants(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("global:\n  client_app_id: 1b730954-1685-4b74-9bfd-dac224a7b894\ntenants:\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&sb, "  - id: %08x-4a5b-4c6d-8e7f-9a0b1c2d3e4f\n    name: Customer %d\n    service_account: svc-sync@customer%d.example\n    tags: [eu, gold]\n    remember_mfa_days: 14\n", i, i, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		cfg, err := newLoader(getenvFrom(nil)).load("bench.yaml", data)
		if err != nil || len(cfg.Tenants) != 5000 {
			b.Fatalf("load: %v", err)
		}
	}
}

// BenchmarkAliasBomb is the worst case a hostile or broken file can cause:
// aliases expanding up to the node limit.
func BenchmarkAliasBomb(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("routes:\n  - &r\n    receiver: x\n    tags: &t [")
	sb.WriteString(strings.Repeat("a,", 1000))
	sb.WriteString("a]\n")
	sb.WriteString(strings.Repeat("  - {receiver: x, tags: *t}\n", 1000))
	data := []byte(sb.String())
	for b.Loop() {
		_, err := newLoader(getenvFrom(nil)).load("bomb.yaml", data)
		if err == nil || !strings.Contains(err.Error(), "document too large") {
			b.Fatalf("want a size error, got %v", err)
		}
	}
}
