// Package systemd holds the service unit; this test keeps it valid and
// hardened as systemd itself judges it.
package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unitFile = "tokenhealth.service"

// maxExposure is the target `systemd-analyze security` score (lower is safer).
const maxExposure = 1.5

func requireAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing; scripts/install-test-deps.sh installs it")
		}
		t.Skip("systemd-analyze not installed")
	}
	return p
}

func TestUnitExposureScore(t *testing.T) {
	bin := requireAnalyze(t)
	out, err := exec.Command(bin, "security", "--offline=yes", unitFile).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	if score > maxExposure {
		t.Fatalf("exposure %.1f above the %.1f target:\n%s", score, maxExposure, out)
	}
	t.Logf("exposure level %.1f", score)
}

// TestUnitVerifies runs `systemd-analyze verify` on a copy whose ExecStart
// points at an executable that exists here (the real binary is installed
// only on the target host).
func TestUnitVerifies(t *testing.T) {
	bin := requireAnalyze(t)
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "tokenhealth")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, unitFile)
	body := strings.ReplaceAll(string(unit), "/usr/local/bin/tokenhealth", exe)
	if err := os.WriteFile(copyPath, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "verify", copyPath).CombinedOutput()
	// verify prints warnings about the host (no running systemd in a
	// container) that do not concern the unit; keep only lines naming it.
	var problems []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, unitFile) {
			problems = append(problems, line)
		}
	}
	if err != nil || len(problems) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
