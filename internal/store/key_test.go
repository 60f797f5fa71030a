package store

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyFileCreatedPrivateAndReused(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys", "state.key")
	statePath := filepath.Join(dir, "state.db")
	db, err := Open(statePath, Options{KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SaveTokenCache("t1", []byte("cache")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	info, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o; want 0600", info.Mode().Perm())
	}
	raw, _ := os.ReadFile(keyFile)
	if len(raw) != 65 || raw[64] != '\n' {
		t.Fatalf("key file holds %d bytes; want 64 hex characters and a newline", len(raw))
	}
	if _, err := hex.DecodeString(string(raw[:64])); err != nil {
		t.Fatalf("key file is not hex: %v", err)
	}
	db, err = Open(statePath, Options{KeyFile: keyFile})
	if err != nil {
		t.Fatalf("reopen with the created key: %v", err)
	}
	defer db.Close()
	if got, err := db.LoadTokenCache("t1"); err != nil || string(got) != "cache" {
		t.Fatalf("LoadTokenCache = %q, %v", got, err)
	}
}

func TestKeyFileProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask-proof
			t.Fatal(err)
		}
		return p
	}
	open := write("open.key", []byte(strings.Repeat("ab", 32)), 0o644)
	writable := write("writable.key", []byte(strings.Repeat("ab", 32)), 0o620)
	short := write("short.key", []byte("0123456789"), 0o600)
	notHex := write("nothex.key", []byte(strings.Repeat("zz", 32)), 0o600)
	cases := []struct {
		name, keyFile, want string
	}{
		{"readable by others", open, "secret file " + open + " is readable by group or others (mode 0644); fix with: chmod 600 " + open + " (and chown it to the service user)"},
		{"writable by group", writable, "secret file " + writable + " is writable by group or others (mode 0620); fix with: chmod 600 " + writable + " (and chown it to the service user)"},
		{"wrong length", short, "key file " + short + " holds 10 bytes; it must hold 32 raw bytes or 64 hex characters"},
		{"not hex", notHex, "key file " + notHex + " holds 64 bytes; it must hold 32 raw bytes or 64 hex characters"},
		{"directory", dir, "key file " + dir + " is a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{KeyFile: c.keyFile})
			if err == nil || err.Error() != c.want {
				t.Fatalf("error = %v\nwant    %s", err, c.want)
			}
		})
	}
}

func TestKeyFileRawAndHexAccepted(t *testing.T) {
	dir := t.TempDir()
	rawPath := filepath.Join(dir, "raw.key")
	hexPath := filepath.Join(dir, "hex.key")
	_ = os.WriteFile(rawPath, testKey, 0o600)
	_ = os.WriteFile(hexPath, []byte(hex.EncodeToString(testKey)+"\n"), 0o600)
	state := filepath.Join(dir, "state.db")
	for _, kf := range []string{rawPath, hexPath} {
		db, err := Open(state, Options{KeyFile: kf})
		if err != nil {
			t.Fatalf("key file %s: %v", kf, err)
		}
		db.Close()
	}
}

func TestWrongKeyRefusedAtOpen(t *testing.T) {
	db := openTemp(t, Options{})
	if err := db.SaveTokenCache("t1", []byte("cache")); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	db.Close()
	before, _ := os.ReadFile(path)
	_, err := Open(path, Options{Key: bytes.Repeat([]byte{7}, KeySize)})
	var km *KeyMismatchError
	if !errors.As(err, &km) {
		t.Fatalf("Open with wrong key: %v", err)
	}
	want := "the state key does not match the state file " + path +
		": use the key file that was in use when the file was written, or move the state file aside to start fresh"
	if err.Error() != want {
		t.Fatalf("error = %q\nwant    %q", err, want)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("a refused open changed the file")
	}
}

func TestMissingKeyFileForSealedState(t *testing.T) {
	db := openTemp(t, Options{})
	path := db.Path()
	db.Close()
	keyFile := filepath.Join(t.TempDir(), "lost.key")
	_, err := Open(path, Options{KeyFile: keyFile})
	want := "key file " + keyFile + " is missing but state file " + path + " was encrypted with a key: restore the key file " +
		"(token caches cannot be read without it), or move the state file aside to start fresh"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
	if _, statErr := os.Stat(keyFile); !errors.Is(statErr, os.ErrNotExist) {
		t.Fatal("a new key file was created for a state file sealed with another key")
	}
}

func TestKeyFromSystemdCredential(t *testing.T) {
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, CredentialName), testKey, 0o400); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	db, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SaveTokenCache("t1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	db.Close()
	// The same key given directly opens the file: the credential was used.
	db = openAt(t, path)
	db.Close()

	t.Setenv("CREDENTIALS_DIRECTORY", t.TempDir()) // no state-key inside
	_, err = Open(filepath.Join(t.TempDir(), "state.db"), Options{})
	if err == nil || !strings.Contains(err.Error(), "LoadCredential=state-key:") {
		t.Fatalf("missing credential error = %v", err)
	}
}

func TestNoKeySource(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	cases := []struct {
		opts Options
		want string
	}{
		{Options{}, "no state key configured: set a key file, or provide the systemd credential state-key"},
		{Options{Key: []byte("short")}, "state key is 5 bytes; it must be 32 bytes (AES-256)"},
	}
	for _, c := range cases {
		_, err := Open(filepath.Join(t.TempDir(), "state.db"), c.opts)
		if err == nil || err.Error() != c.want {
			t.Errorf("error = %v; want %q", err, c.want)
		}
	}
}

// A key file another unprivileged user owns is refused like any secret
// file: its owner could replace the key (secret.CheckFileMode).
func TestKeyFileOfAnotherUserRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	keyFile := filepath.Join(t.TempDir(), "state.key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(keyFile, 4343, 4343); err != nil {
		t.Fatal(err)
	}
	_, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{KeyFile: keyFile})
	want := "secret file " + keyFile + " is owned by uid 4343, who could change it; tokenhealth runs as root, so the file must belong to root; fix with: chown root " + keyFile
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}
