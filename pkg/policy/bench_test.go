package policy

import (
	"fmt"
	"testing"
)

// BenchmarkEvaluate200 evaluates a 200-policy tenant (the realistic test
// policies repeated with distinct ids) for one account.
func BenchmarkEvaluate200(b *testing.B) {
	l := loadTestTenant(b)
	policies := make([]Policy, 0, 200)
	for i := 0; len(policies) < 200; i++ {
		p := l.Policies[i%len(l.Policies)]
		p.ID = fmt.Sprintf("%s-%03d", p.ID[:30], i)
		policies = append(policies, p)
	}
	eng := Compile(policies, l.Locations)
	s := baseSubject()
	s.IP = "198.51.100.7" // untrusted: more policies break, more remediation text
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		evs := eng.Evaluate(s)
		if len(evs) != 200 {
			b.Fatal(len(evs))
		}
	}
}
