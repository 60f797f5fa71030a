package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	writeFile(t, p("empty"), "\n", 0o600)
	cases := []struct {
		file, want, err string
	}{
		{"ok", "tok-1", ""},
		{"crlf", "tok-2", ""},
		{"inner", "line1\nline2\n", ""}, // only one trailing newline is dropped
		{"group", "", "secret file " + p("group") + " is readable by group or others (mode 0640); fix with: chmod 600 " + p("group") + " (and chown it to the service user)"},
		{"world", "", "secret file " + p("world") + " is readable by group or others (mode 0604); fix with: chmod 600 " + p("world") + " (and chown it to the service user)"},
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
