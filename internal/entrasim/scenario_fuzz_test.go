package entrasim

import (
	"testing"
	"time"
)

// FuzzParseScenario feeds arbitrary bytes through the strict scenario
// decoder and, when they decode, through validation and tenant building:
// nothing may panic, a decoded scenario always has tenants, and every
// rejection is an error with a message. Policy file references resolve in
// an empty directory, so a fuzzed path can only fail to load.
//
//	go test -run '^$' -fuzz '^FuzzParseScenario$' -fuzztime 60s ./internal/entrasim/
func FuzzParseScenario(f *testing.F) {
	demo, err := embeddedScenarios.ReadFile("scenarios/demo.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	for _, s := range []string{
		"tenants: []\n",
		"tenants:\n- domain: a.example\n",
		"tenants:\n- domain: a.example\n  id: not-a-guid\n  users: [{upn: x}]\n",
		"tenants:\n- domain: a.example\n  policies: [{file: ../../../etc/passwd}]\n",
		"tenants:\n- domain: a.example\n  events: [{at: '+36h', action: nope}]\n",
		"a: &a [*a]\n",
		"\xef\xbb\xbftenants:\n- {domain: b.example, options: {countries: {'10.0.0.0/8': USA}}}\n",
		"\xff\xfet\x00",
		"tenants:\n- domain: a.example\n  unknownKey: 1\n",
	} {
		f.Add([]byte(s))
	}
	empty := f.TempDir()
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseScenario(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("parse error without a message")
			}
			return
		}
		if sc == nil || len(sc.Tenants) == 0 {
			t.Fatalf("a parsed scenario must have tenants: %+v", sc)
		}
		sc.baseDir = empty
		built, err := sc.build(start)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("build error without a message")
			}
			return
		}
		if len(built.tenants) != len(sc.Tenants) {
			t.Fatalf("built %d tenants from %d", len(built.tenants), len(sc.Tenants))
		}
	})
}
