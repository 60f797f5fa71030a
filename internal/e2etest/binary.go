// Package e2etest is the end-to-end harness shared by the tests that drive
// the real tokenhealth binary: it builds cmd/agent once per test process,
// starts the simulated tenants on the wall clock, writes the daemon's
// configuration, runs CLI commands and starts, stops and kills the daemon.
//
// It deliberately does not import internal/graph (msgraph-sdk-go): the
// binary is built by `go build`, so a test package using this harness
// compiles in seconds.
package e2etest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	buildDir  string
	builtBin  string
	buildErr  error
)

// Binary returns the path of a tokenhealth binary built from the module's
// cmd/agent, building it on the first call of the test process. Packages
// that call it should run their tests through Main so the binary is removed
// afterwards.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { builtBin, buildErr = build() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func build() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	buildDir, err = os.MkdirTemp("", "thbin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(buildDir, "tokenhealth")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/agent")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building tokenhealth: %v\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot is the nearest directory at or above the working directory
// (a test's package directory) holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("building tokenhealth: no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Main runs a test package's tests and then removes the binary Binary
// built. Use it as: func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	return code
}
