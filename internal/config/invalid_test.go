package config

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.err from the current output")

// TestInvalidConfigs loads every testdata/invalid/NAME.yaml and compares the
// complete error text with NAME.err. "@TMP@" in a case stands for the
// fixture directory (secret files with specific modes, credentials); a case
// containing "# test-env: no-credentials-directory" runs without
// $CREDENTIALS_DIRECTORY.
func TestInvalidConfigs(t *testing.T) {
	cases, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("only %d invalid cases found", len(cases))
	}
	for _, file := range cases {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := fixtures(t)
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			env := fixtureEnv(dir)
			if bytes.Contains(raw, []byte("# test-env: no-credentials-directory")) {
				delete(env, "CREDENTIALS_DIRECTORY")
			}
			data := bytes.ReplaceAll(raw, []byte("@TMP@"), []byte(dir))
			cfg, err := newLoader(getenvFrom(env)).load(file, data)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("want a *ValidationError, got cfg=%v err=%v", cfg != nil, err)
			}
			got := strings.ReplaceAll(err.Error(), dir, "@TMP@") + "\n"
			for _, leaked := range []string{fileSecret, openFileSecret, slackCredential, clientCredential, "BEGIN PRIVATE KEY"} {
				if strings.Contains(got, leaked) {
					t.Errorf("error text contains a secret value %q:\n%s", leaked, got)
				}
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden file (run go test -run TestInvalidConfigs -update and review it): %v", err)
			}
			if got != string(want) {
				t.Errorf("errors differ\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}
