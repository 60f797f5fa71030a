package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadBytes: whatever the bytes, loading never panics, fails only with
// a *ValidationError whose every problem has a message, and a loaded
// configuration can always be summarised and shown. Seeds: the corpus in
// testdata/fuzz/FuzzLoadBytes, the example and every invalid case.
func FuzzLoadBytes(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/invalid/*.yaml")
	seeds = append(seeds, exampleFile)
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := LoadBytes("fuzz.yaml", data)
		if err != nil {
			var verr *ValidationError
			if !errors.As(err, &verr) || len(verr.Problems) == 0 {
				t.Fatalf("want a *ValidationError with problems, got %T %v", err, err)
			}
			for _, p := range verr.Problems {
				if p.Message == "" || p.File == "" || p.Line < 0 {
					t.Fatalf("incomplete problem %+v", p)
				}
			}
			return
		}
		if cfg == nil {
			t.Fatal("nil config without error")
		}
		if _, err := cfg.RedactedYAML(); err != nil {
			t.Fatalf("RedactedYAML: %v", err)
		}
		_ = cfg.Summary()
		_ = cfg.Global.Endpoints()
		for i := range cfg.Receivers {
			_ = cfg.Receivers[i].Kind()
		}
	})
}
