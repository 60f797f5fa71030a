package policy

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// tenant200 is the realistic test tenant's policies repeated with distinct
// ids up to 200.
func tenant200(tb testing.TB) *Engine {
	l := loadTestTenant(tb)
	policies := make([]Policy, 0, 200)
	for i := 0; len(policies) < 200; i++ {
		p := l.Policies[i%len(l.Policies)]
		p.ID = fmt.Sprintf("%s-%03d", p.ID[:30], i)
		policies = append(policies, p)
	}
	return Compile(policies, l.Locations)
}

// BenchmarkEvaluate200 evaluates 200 policies for one account, from an
// untrusted IP so that many policies break and carry remediation text.
// "same-account" is the daemon's case (re-evaluation on every probe);
// "new-account" defeats the remediation memo on every iteration.
func BenchmarkEvaluate200(b *testing.B) {
	eng := tenant200(b)
	s := baseSubject()
	s.IP = "198.51.100.7"
	b.Run("same-account", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if evs := eng.Evaluate(s); len(evs) != 200 {
				b.Fatal(len(evs))
			}
		}
	})
	b.Run("new-account", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			s.UPN = fmt.Sprintf("svc%d@contoso.onmicrosoft.com", i)
			if evs := eng.Evaluate(s); len(evs) != 200 {
				b.Fatal(len(evs))
			}
		}
	})
}

// TestEngineConcurrentUse runs one engine from several goroutines with
// different accounts (go test -race checks the remediation memo).
func TestEngineConcurrentUse(t *testing.T) {
	eng := tenant200(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := baseSubject()
			s.IP = "198.51.100.7"
			s.UPN = fmt.Sprintf("svc%d@contoso.onmicrosoft.com", g)
			for range 20 {
				for _, ev := range eng.Evaluate(s) {
					if ev.Impact == ImpactBreaksNow && (len(ev.Remediation) == 0 || !strings.Contains(ev.Remediation[0], s.UPN)) {
						t.Errorf("remediation for %s names another account: %q", s.UPN, ev.Remediation)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
