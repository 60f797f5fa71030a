package reliability

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// copyFile copies src to dst with mode 0600.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedStateFileAndRestore damages the state file two ways. The
// daemon must refuse to start with an error naming the file and what to
// do, `db check` must say what is damaged, and the documented restore from
// `db backup` must bring every verdict and token cache back.
func TestDamagedStateFileAndRestore(t *testing.T) {
	sc, mixOf := scenarioOf(18, mixHealthy, mixReportOnly, mixEveryTime)
	d := newDaemon(t, sc, mixOf, "")
	d.enrollAll()
	d.start()
	settled := d.settle(120 * time.Second)
	backup := filepath.Join(d.dir, "backup.db")
	if out, code := d.cli("db", "backup", "--socket", d.sock, "--state", d.state, backup); code != 0 {
		t.Fatalf("db backup: exit %d\n%s", code, out)
	}
	d.stop()
	info, err := os.Stat(d.state)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		damage func(path string) error
	}{
		{"truncated to half", func(p string) error { return os.Truncate(p, info.Size()/2) }},
		{"garbage over data pages 2-5", func(p string) error {
			first, pageSize, err := firstPageInUse(p)
			if err != nil {
				return err
			}
			t.Logf("garbage over pages %d-%d", first, first+3)
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte(strings.Repeat("\xde\xad\xbe\xef", pageSize)), int64(first*pageSize))
			return err
		}},
		{"zeroed meta pages", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt(make([]byte, 2*4096), 0)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			copyFile(t, backup, d.state)
			if err := tc.damage(d.state); err != nil {
				t.Fatal(err)
			}
			out, code := d.startExpectingFailure()
			t.Logf("tokenhealth run (exit %d):\n%s", code, lastLines(out, 3))
			if code == 0 || !strings.Contains(out, d.state) {
				t.Errorf("run on a damaged file: exit %d, want an error naming %s", code, d.state)
			}
			if !strings.Contains(out, "db check") && !strings.Contains(out, "backup") {
				t.Errorf("the error does not say what to do (db check, restore a backup):\n%s", out)
			}
			out, code = d.cli("db", "check", "--state", d.state, "--key-file", filepath.Join(d.dir, "state.key"))
			t.Logf("tokenhealth db check (exit %d):\n%s", code, lastLines(out, 6))
			if code == 0 || !strings.Contains(out, d.state) {
				t.Errorf("db check on a damaged file: exit %d, want a failure naming the file", code)
			}
			if strings.HasPrefix(tc.name, "garbage") && !pinpointed.MatchString(out) {
				t.Errorf("db check does not name the damaged page:\n%s", out)
			}
		})
	}

	// The documented restore: copy the backup over the state file, check
	// it, start the service.
	copyFile(t, backup, d.state)
	if out, code := d.cli("db", "check", "--state", d.state, "--key-file", filepath.Join(d.dir, "state.key")); code != 0 {
		t.Fatalf("db check of the restored file: exit %d\n%s", code, out)
	}
	d.start()
	for id, s := range d.states() {
		if s != settled[id] {
			t.Errorf("after the restore tenant %s is %s, was %s", id, s, settled[id])
		}
	}
	for id, s := range settled {
		if s == health.StateHealthy {
			out, code := d.cli("check", id, "--config", d.cfg)
			if code != 0 {
				t.Errorf("check %s after the restore (token cache from the backup): exit %d\n%s", id, code, out)
			}
			break
		}
	}
	d.stop()
}

// pinpointed matches db check's lines that name a damaged page: a bucket's
// ("bucket probes: page 3 is damaged (its header reads page ...)"), the
// root page or the free-list page.
var pinpointed = regexp.MustCompile(`(?m)^(bucket \w+: .*page \d+|the root page listing the buckets: |.*the free-list page \d+ )`)

// firstPageInUse returns the first page from 2 on that the file uses, and
// the page size. The damage must hit a page in use to be damage at all:
// which of the low pages are free at the moment of the backup depends on
// the last commits, and garbage over a free page is rightly ignored.
func firstPageInUse(path string) (int, int, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	first := -1
	err = db.View(func(tx *bolt.Tx) error {
		for id := 2; ; id++ {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return err
			}
			if info.Type != "free" {
				first = id
				return nil
			}
		}
	})
	if err == nil && first < 0 {
		err = errors.New("no page in use")
	}
	return first, db.Info().PageSize, err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestDiskFull puts the state on a 2 MiB tmpfs and fills it. Probing must
// continue, the condition must show in the status, the file must stay
// intact, and the problem must clear by itself when space returns.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("reliability test with real processes")
	}
	if os.Geteuid() != 0 {
		t.Skip("disk full test: mounting a 2 MiB tmpfs needs root (run as root, e.g. in the CI container)")
	}
	mnt := shortTempDir(t)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("disk full test: cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })

	sc, mixOf := scenarioOf(18, mixHealthy, mixReportOnly, mixEveryTime)
	d := newDaemon(t, sc, mixOf, mnt)
	d.enrollAll()
	d.start()
	settled := d.settle(120 * time.Second)
	var healthy string
	for id, s := range settled {
		if s == health.StateHealthy {
			healthy = id
		}
	}

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	problem := func() string {
		st, err := d.status()
		if err != nil {
			return ""
		}
		return strings.Join(st.Agent.Problems, "; ")
	}
	// Probing continues: check probes through the daemon; the verdict
	// cannot be written, which must be reported.
	d.eventually("the state-write problem is reported", 60*time.Second, func() bool {
		// The probe runs; its token cache cannot be saved, which is a
		// local (transient) failure, never a verdict on the token.
		_, _ = d.cli("check", healthy, "--config", d.cfg)
		return strings.Contains(problem(), "state file")
	})
	t.Logf("reported while full: %s", problem())
	if s := d.states()[healthy]; s != health.StateHealthy {
		t.Errorf("tenant %s is %s with the disk full, want healthy", healthy, s)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	d.eventually("the problem clears once space returns", 60*time.Second, func() bool {
		_, _ = d.cli("check", healthy, "--config", d.cfg)
		return problem() == ""
	})
	d.stop()
	if out, code := d.cli("db", "check", "--state", d.state, "--key-file", filepath.Join(d.dir, "state.key")); code != 0 {
		t.Fatalf("db check after the disk was full: exit %d\n%s", code, out)
	}
	d.start()
	for id, s := range d.states() {
		if s != settled[id] {
			t.Errorf("after the disk-full episode and a restart tenant %s is %s, was %s", id, s, settled[id])
		}
	}
	d.stop()
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			return // ENOSPC
		}
	}
}
