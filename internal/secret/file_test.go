package secret

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFile(t, p("ok"), "tok-1\n", 0o600)
	writeFile(t, p("crlf"), "tok-2\r\n", 0o400)
	writeFile(t, p("inner"), "line1\nline2\n\n", 0o600)
	writeFile(t, p("group"), "tok-3", 0o640)
	writeFile(t, p("world"), "tok-4", 0o604)
	writeFile(t, p("group-writable"), "tok-5", 0o620)
	writeFile(t, p("everyone"), "tok-6", 0o666)
	writeFile(t, p("empty"), "\n", 0o600)
	cases := []struct {
		file, want, err string
	}{
		{"ok", "tok-1", ""},
		{"crlf", "tok-2", ""},
		{"inner", "line1\nline2\n", ""}, // only one trailing newline is dropped
		{"group", "", "secret file " + p("group") + " is readable by group or others (mode 0640); fix with: chmod 600 " + p("group") + " (and chown it to the service user)"},
		{"world", "", "secret file " + p("world") + " is readable by group or others (mode 0604); fix with: chmod 600 " + p("world") + " (and chown it to the service user)"},
		{"group-writable", "", "secret file " + p("group-writable") + " is writable by group or others (mode 0620); fix with: chmod 600 " + p("group-writable") + " (and chown it to the service user)"},
		{"everyone", "", "secret file " + p("everyone") + " is readable and writable by group or others (mode 0666); fix with: chmod 600 " + p("everyone") + " (and chown it to the service user)"},
		{"empty", "", "secret file " + p("empty") + " is empty"},
		{"missing", "", "cannot read secret file " + p("missing") + ": no such file"},
		{"", "", "secret file " + dir + " is a directory"},
	}
	for _, c := range cases {
		s, err := ReadFile(p(c.file))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err || s.Reveal() != c.want {
			t.Errorf("ReadFile(%s) = %q, %q; want %q, %q", c.file, s.Reveal(), got, c.want, c.err)
		}
		if strings.Contains(got, "tok-") {
			t.Errorf("error reveals the secret: %s", got)
		}
	}
}

func TestReadCredential(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "slack-token"), "xoxb-1\n", 0o400)
	s, err := ReadCredential(dir, "slack-token")
	if err != nil || s.Reveal() != "xoxb-1" {
		t.Fatalf("ReadCredential = %q, %v", s.Reveal(), err)
	}
	for _, c := range []struct{ dir, name, err string }{
		{"", "slack-token", "$CREDENTIALS_DIRECTORY is not set: systemd sets it for units with LoadCredential= or SetCredential=; run under the service unit or use the _file form"},
		{dir, "other", `credential "other" not found in $CREDENTIALS_DIRECTORY (` + dir + `); add LoadCredential=other:PATH to the unit`},
		{dir, "../slack-token", `invalid credential name "../slack-token": a systemd credential name is a plain file name`},
		{dir, "..", `invalid credential name "..": a systemd credential name is a plain file name`},
	} {
		_, err := ReadCredential(c.dir, c.name)
		if err == nil || err.Error() != c.err {
			t.Errorf("ReadCredential(%q, %q) error = %v, want %s", c.dir, c.name, err, c.err)
		}
	}
}

// fakeInfo is a file's mode and owner, for checkFile.
type fakeInfo struct {
	mode fs.FileMode
	sys  any
}

func (f fakeInfo) Name() string       { return "secret" }
func (f fakeInfo) Size() int64        { return 5 }
func (f fakeInfo) Mode() fs.FileMode  { return f.mode }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return false }
func (f fakeInfo) Sys() any           { return f.sys }

func owned(uid uint32) *syscall.Stat_t { return &syscall.Stat_t{Uid: uid} }

// Uids 4242 and 4343 are assumed to have no name in /etc/passwd.
func TestCheckFile(t *testing.T) {
	const path = "/etc/tokenhealth/slack-token"
	fix := "; fix with: chmod 600 " + path + " (and chown it to the service user)"
	cases := []struct {
		name string
		info fakeInfo
		euid int
		want string
	}{
		{"owner only", fakeInfo{0o600, owned(4242)}, 4242, ""},
		{"owner read-only", fakeInfo{0o400, owned(4242)}, 4242, ""},
		{"root's file, service user reads it as root", fakeInfo{0o600, owned(0)}, 0, ""},
		{"root's file, service user not root", fakeInfo{0o400, owned(0)}, 4242, ""},
		{"execute bits open no secret", fakeInfo{0o711, owned(4242)}, 4242, ""},
		{"no owner information", fakeInfo{0o600, nil}, 4242, ""},
		{"group readable", fakeInfo{0o640, owned(4242)}, 4242, "secret file " + path + " is readable by group or others (mode 0640)" + fix},
		{"others readable", fakeInfo{0o604, owned(4242)}, 4242, "secret file " + path + " is readable by group or others (mode 0604)" + fix},
		{"group writable", fakeInfo{0o620, owned(4242)}, 4242, "secret file " + path + " is writable by group or others (mode 0620)" + fix},
		{"others writable", fakeInfo{0o602, owned(4242)}, 4242, "secret file " + path + " is writable by group or others (mode 0602)" + fix},
		{"read-only owner, group writable", fakeInfo{0o420, owned(4242)}, 4242, "secret file " + path + " is writable by group or others (mode 0420)" + fix},
		{"everyone", fakeInfo{0o666, owned(4242)}, 4242, "secret file " + path + " is readable and writable by group or others (mode 0666)" + fix},
		{"mode checked before owner", fakeInfo{0o622, owned(4343)}, 0, "secret file " + path + " is writable by group or others (mode 0622)" + fix},
		{"another user's file, run as root", fakeInfo{0o600, owned(4343)}, 0,
			"secret file " + path + " is owned by uid 4343, who could change it; tokenhealth runs as root, so the file must belong to root; fix with: chown root " + path},
		{"another user's file, run as the service user", fakeInfo{0o600, owned(4343)}, 4242,
			"secret file " + path + " is owned by uid 4343, who could change it; it must belong to the user tokenhealth runs as (uid 4242) or to root; fix with: chown 4242 " + path},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkFile(path, c.info, c.euid)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("checkFile = %q\nwant        %q", got, c.want)
			}
		})
	}
}

func TestDescribeUser(t *testing.T) {
	if got := describeUser(0); got != "root (uid 0)" {
		t.Errorf("describeUser(0) = %q", got)
	}
	if got, want := userName(4242), "4242"; got != want {
		t.Errorf("userName(4242) = %q, want %q", got, want)
	}
}

// The owner rule on a real file: only root can give a file away.
func TestReadFileRefusesAnotherUsersFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	path := filepath.Join(t.TempDir(), "token")
	writeFile(t, path, "tok-7", 0o600)
	if err := os.Chown(path, 4343, 4343); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path)
	want := "secret file " + path + " is owned by uid 4343, who could change it; tokenhealth runs as root, so the file must belong to root; fix with: chown root " + path
	if err == nil || err.Error() != want {
		t.Fatalf("ReadFile = %v\nwant %s", err, want)
	}
}
